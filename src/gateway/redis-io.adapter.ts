import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import type { Redis } from 'ioredis';
import type { Server, ServerOptions } from 'socket.io';
import type { RedisConnections } from '../redis/redis-connections.js';

/** Socket.IO on the Fastify server, with the server options the composition root gives (origins, CORS). */
export class ConfiguredIoAdapter extends IoAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly serverOptions: Partial<ServerOptions>,
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    return super.createIOServer(port, { ...options, ...this.serverOptions } as ServerOptions) as Server;
  }
}

/**
 * Socket.IO with the Redis adapter, so several API instances behind a load balancer form one
 * Socket.IO cluster (rooms, broadcasts and fetchSockets across instances).
 * Job events themselves reach every instance through the JobEventBus, and each instance emits
 * them to its own clients only (see JobStreamGateway), so nothing is delivered twice.
 * The adapter's two connections are closed by RedisConnections at shutdown.
 */
export class RedisIoAdapter extends ConfiguredIoAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly redis: RedisConnections,
    serverOptions: Partial<ServerOptions>,
  ) {
    super(app, serverOptions);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const server = super.createIOServer(port, options);
    const pub = this.redis.open('socket.io-pub');
    const sub = quietUnsubscribes(this.redis.open('socket.io-sub'));
    server.adapter(createAdapter(pub, sub, { key: this.redis.channel('socket.io') }));
    return server;
  }
}

/**
 * The adapter's close() sends its UNSUBSCRIBEs without waiting for them: on a connection that is gone
 * (closed at shutdown before Redis answered) each is rejected with nobody to hear it, an unhandled
 * rejection that ends the process. Those two commands are given a handler here; their callers still
 * get the same promise.
 */
function quietUnsubscribes(sub: Redis): Redis {
  for (const name of ['unsubscribe', 'punsubscribe'] as const) {
    const send = sub[name].bind(sub) as (...args: unknown[]) => Promise<unknown>;
    (sub as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      const sent = send(...args);
      sent.catch(() => undefined);
      return sent;
    };
  }
  return sub;
}
