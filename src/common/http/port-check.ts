import { createServer } from 'node:net';

/** The HTTP port cannot be had: said in one line that names PORT, without a stack trace. */
export class PortUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PortUnavailableError';
  }
}

/** Turns a listen error about the port into a PortUnavailableError; any other error is returned as it is. */
export function portUnavailable(error: unknown, port: number): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') {
    return new PortUnavailableError(
      `PORT=${port} is already in use (another draconic, or another program, listens on it): stop it, or choose a free port, e.g. PORT=${port === 8000 ? 8001 : 8000} npm start`,
    );
  }
  if (code === 'EACCES') {
    return new PortUnavailableError(`PORT=${port}: not allowed to listen on this port (below 1024 needs privileges): choose another, e.g. PORT=8000`);
  }
  return error;
}

/** Fails fast when nothing can listen on the port (checked on every interface, as the API listens). */
export async function assertPortFree(port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error) => reject(portUnavailable(error, port)));
    probe.listen({ port, host: '0.0.0.0', exclusive: true }, () => probe.close(() => resolve()));
  });
}
