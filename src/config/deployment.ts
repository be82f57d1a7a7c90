import type { AppConfig } from './app-config.js';
import { ConfigError } from './load-config.js';

/**
 * Which implementation backs each port (DESIGN §1, §9), decided once at boot from the
 * configuration and nowhere else.
 * - database: `postgres` (DATABASE_URL) or `embedded` (PGlite in DATA_DIR);
 * - messaging: `redis` (REDIS_URL: Bull dispatch, Redis pub/sub events, advisory-lock leader
 *   election) or `in-process` (an in-process queue, an in-process emitter, always the leader).
 */
export class Deployment {
  database!: 'postgres' | 'embedded';
  messaging!: 'redis' | 'in-process';
  /** Scheduler leadership: contested through PostgreSQL, or this process alone. */
  leadership!: 'advisory-lock' | 'single-process';
}

export function deploymentOf(config: AppConfig): Deployment {
  const database = config.databaseUrl ? 'postgres' : 'embedded';
  const messaging = config.redisUrl ? 'redis' : 'in-process';
  if ((database === 'embedded' || messaging === 'in-process') && config.role !== 'all') {
    const missing = [database === 'embedded' ? 'DATABASE_URL' : null, messaging === 'in-process' ? 'REDIS_URL' : null].filter(Boolean);
    throw new ConfigError([
      `ROLE=${config.role} needs ${missing.join(' and ')}: without ${missing.length > 1 ? 'them' : 'it'} draconic runs embedded, ` +
        'in one process, which only ROLE=all can do. Set ROLE=all, or set the URL(s) to shared PostgreSQL / Redis.',
    ]);
  }
  // Without Redis one process does the work: an embedded database lives in it, and a shared PostgreSQL
  // is kept to it by a lock taken at boot (SingleProcessLeadership), so no other process contests leadership.
  const leadership = database === 'postgres' && messaging === 'redis' ? 'advisory-lock' : 'single-process';
  return Object.assign(new Deployment(), { database, messaging, leadership });
}
