import { Redis } from 'ioredis';
import { ConfigError } from '../config/load-config.js';

/**
 * Stops the boot when the Redis server refuses the database REDIS_URL names (`redis://host:6379/99` on a
 * server with 16): ioredis reports the refused SELECT as a connection error and then goes on, on database
 * 0, so the service would run, report Redis healthy and write its keys into a database nobody configured.
 * A server that cannot be reached within `waitMs` is not judged here: the boot goes on as without this
 * check, and the health checks report Redis as down until it answers (RedisConnections also refuses to
 * use a connection whose SELECT was refused, see there).
 */
export async function assertRedisDatabase(url: string, waitMs = 3000): Promise<void> {
  const db = new Redis(url, { lazyConnect: true }).options.db ?? 0;
  if (db === 0) return;
  // The same server without the database in the URL (a URL's database wins over the `db` option).
  const server = new URL(url);
  server.pathname = '';
  const probe = new Redis(server.toString(), { lazyConnect: true, connectTimeout: waitMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  probe.on('error', () => undefined);
  try {
    try {
      await probe.connect();
    } catch {
      return;
    }
    await probe.select(db).catch((error: Error) => {
      throw new ConfigError([`REDIS_URL: the Redis server refused database ${db} (${error.message}); use one it has (0 to its "databases" setting minus 1)`]);
    });
  } finally {
    probe.disconnect();
  }
}
