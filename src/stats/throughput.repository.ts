import { Injectable } from '@nestjs/common';
import { Sql } from '../database/sql.js';

export interface ThroughputWindow {
  now: Date;
  from: Date;
  to: Date;
  buckets: Array<{ at: Date; completed: number; failed: number }>;
}

interface Row {
  now: Date;
  from_at: Date;
  to_at: Date;
  at: Date | null;
  completed: number | null;
  failed: number | null;
}

/**
 * Jobs that finished (completed, failed or timed out for good) per bucket of `stepSeconds`, over the
 * last `seconds` whole seconds by the database's clock (the clock that wrote `completed_at`). The
 * bucket still counting is left out, so every bucket returned is complete. Reads the partial index
 * `jobs_finished_at_idx`; a job retried since it finished has no `completed_at` and is not counted.
 */
@Injectable()
export class ThroughputRepository {
  constructor(private readonly sql: Sql) {}

  async window(seconds: number, stepSeconds: number): Promise<ThroughputWindow> {
    const rows = await this.sql.query<Row>(
      `WITH w AS (
         SELECT now() AS now, to_timestamp(floor(extract(epoch FROM now()) / $2::int) * $2::int) AS to_at
       )
       SELECT w.now, w.to_at - make_interval(secs => $1::int) AS from_at, w.to_at, b.at, b.completed, b.failed
       FROM w LEFT JOIN LATERAL (
         SELECT to_timestamp(floor(extract(epoch FROM j.completed_at) / $2::int) * $2::int) AS at,
                count(*) FILTER (WHERE j.status = 'completed')::int AS completed,
                count(*) FILTER (WHERE j.status <> 'completed')::int AS failed
         FROM jobs j
         WHERE j.status IN ('completed', 'failed', 'timeout')
           AND j.completed_at >= w.to_at - make_interval(secs => $1::int) AND j.completed_at < w.to_at
         GROUP BY 1
       ) b ON true
       ORDER BY b.at`,
      [seconds, stepSeconds],
    );
    const first = rows[0]!;
    return {
      now: first.now,
      from: first.from_at,
      to: first.to_at,
      buckets: rows.filter((r) => r.at !== null).map((r) => ({ at: r.at!, completed: r.completed!, failed: r.failed! })),
    };
  }
}
