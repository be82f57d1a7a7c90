import { createServer } from 'node:net';

/** The HTTP port cannot be had: said in one line that names PORT, without a stack trace. */
export class PortUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PortUnavailableError';
  }
}

/** Turns a listen error about the port (of `variable`) into a PortUnavailableError; any other error is returned as it is. */
export function portUnavailable(error: unknown, port: number, variable: 'PORT' | 'METRICS_PORT' = 'PORT'): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const example = variable === 'PORT' ? `PORT=${port === 8000 ? 8001 : 8000} npm start` : `${variable}=${port === 9464 ? 9465 : 9464}`;
  if (code === 'EADDRINUSE') {
    return new PortUnavailableError(
      `${variable}=${port} is already in use (another draconic, or another program, listens on it): stop it, or choose a free port, e.g. ${example}`,
    );
  }
  if (code === 'EACCES') {
    return new PortUnavailableError(`${variable}=${port}: not allowed to listen on this port (below 1024 needs privileges): choose another, e.g. ${example}`);
  }
  return error;
}

/** Fails fast when nothing can listen on the port (checked on every interface, as the API listens). */
export async function assertPortFree(port: number, variable: 'PORT' | 'METRICS_PORT' = 'PORT'): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error) => reject(portUnavailable(error, port, variable)));
    probe.listen({ port, host: '0.0.0.0', exclusive: true }, () => probe.close(() => resolve()));
  });
}
