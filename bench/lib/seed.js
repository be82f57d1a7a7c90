// Seeding a big jobs table in SQL for the scenarios that measure one (big-table, queues-read).
import pg from 'pg';

/** Runs `fn` with one connected client of `databaseUrl`, and closes it. */
export async function withClient(databaseUrl, fn) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Inserts `count` finished jobs in one INSERT … SELECT generate_series, spread over `types` and over statuses
 * like a month of traffic (a tenth failed, a 25th cancelled, the rest completed), created within the last hour
 * and the hour before; the first `expired` of them ten days earlier (past a day's retention).
 */
export function insertFinishedJobs(client, count, { types, expired = 0 }) {
  return client.query(
    `INSERT INTO jobs (id, type, status, max_attempts, backoff_multiplier, initial_delay_ms, max_delay_ms, timeout_seconds,
                       attempts, result, created_at, updated_at, started_at, completed_at)
     SELECT gen_random_uuid(), ($3::text[])[1 + i % cardinality($3::text[])],
            (CASE WHEN i % 10 = 0 THEN 'failed' WHEN i % 25 = 1 THEN 'cancelled' ELSE 'completed' END)::job_status,
            3, 2, 1000, 60000, 300, 1, '{"ok": true}'::jsonb, at, at, at, at + interval '20 ms'
     FROM (SELECT i, now() - CASE WHEN i <= $2 THEN interval '10 days' ELSE interval '1 hour' END
                            - (i % 3600) * interval '1 second' AS at
           FROM generate_series(1, $1::int) AS i) s`,
    [count, expired, types],
  );
}
