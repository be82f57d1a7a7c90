import type { MigrationInterface, QueryRunner } from 'typeorm';

/** job_event_data as the schema first created it: the fields every event carries, and the event-specific ones. */
const BASE = `
  SELECT jsonb_build_object(
           'job_id', j.id, 'type', j.type, 'priority', j.priority,
           'status', coalesce(status_override, j.status), 'attempt', j.attempts,
           'sequence', coalesce(sequence_override, j.event_seq),
           'timestamp', to_char(j.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
    || CASE WHEN j.ref IS NOT NULL THEN jsonb_build_object('ref', j.ref) ELSE '{}' END
    || CASE WHEN j.worker_id IS NOT NULL AND coalesce(status_override, j.status) IN ('running', 'completed', 'failed', 'timeout')
            THEN jsonb_build_object('worker_id', j.worker_id) ELSE '{}' END
    || CASE WHEN j.error IS NOT NULL AND coalesce(status_override, j.status) IN ('failed', 'timeout', 'cancelled', 'pending')
            THEN jsonb_build_object('error', j.error) ELSE '{}' END
    || CASE WHEN coalesce(status_override, j.status) = 'completed'
            THEN jsonb_build_object('result', CASE WHEN octet_length(j.result::text) <= 4096 THEN j.result
                                                    ELSE jsonb_build_object('truncated', true, 'bytes', octet_length(j.result::text)) END)
            ELSE '{}' END
    || CASE WHEN coalesce(status_override, j.status) = 'pending' AND j.next_run_at IS NOT NULL
            THEN jsonb_build_object('next_run_at', to_char(j.next_run_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
            ELSE '{}' END`;

const ISO = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * The events of a job that becomes ready (job_created with status ready, job_ready) carry what a
 * placement needs of it (DESIGN §7 allows event-specific fields): `cpu_units`, `memory_mb`,
 * `concurrency_key`, `created_at`, `run_at` and `queued_at`. The leader keeps the ready jobs it
 * learns of from these events, once a read of the ready queue found all of it placed, and places
 * them without reading the queue again (src/scheduler/domain/ready-tail.ts): the read was a third to
 * a half of a pickup. Columns are `timestamptz(3)`, so the millisecond text is exact.
 */
export class ReadyEventPlacementFields1796700000000 implements MigrationInterface {
  name = 'ReadyEventPlacementFields1796700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION "job_event_data"(j "jobs", status_override "job_status" DEFAULT NULL, sequence_override integer DEFAULT NULL)
      RETURNS jsonb LANGUAGE sql STABLE AS $fn$ ${BASE}
        || CASE WHEN coalesce(status_override, j.status) = 'ready'
                THEN jsonb_build_object('cpu_units', j.cpu_units, 'memory_mb', j.memory_mb, 'concurrency_key', j.concurrency_key,
                                        'created_at', ${ISO('j.created_at')}, 'run_at', ${ISO('j.run_at')}, 'queued_at', ${ISO('j.queued_at')})
                ELSE '{}' END
      $fn$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION "job_event_data"(j "jobs", status_override "job_status" DEFAULT NULL, sequence_override integer DEFAULT NULL)
      RETURNS jsonb LANGUAGE sql STABLE AS $fn$ ${BASE} $fn$`);
  }
}
