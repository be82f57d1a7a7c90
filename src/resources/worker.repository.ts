import { Injectable } from '@nestjs/common';
import { Sql } from '../database/sql.js';
import { Worker, type WorkerStatus } from './entities/worker.entity.js';

type WorkerRow = Record<string, unknown>;

function rowToWorker(r: WorkerRow): Worker {
  return Object.assign(new Worker(), {
    id: r.id as string,
    host: r.host as string,
    pid: r.pid as number,
    status: r.status as WorkerStatus,
    maxConcurrentJobs: r.max_concurrent_jobs as number,
    maxCpuUnits: r.max_cpu_units as number,
    maxMemoryMb: r.max_memory_mb as number,
    startedAt: r.started_at as Date,
    lastHeartbeatAt: r.last_heartbeat_at as Date,
    stoppedAt: (r.stopped_at as Date | null) ?? null,
    executingJobIds: (r.executing_job_ids as string[] | null) ?? [],
    previousHeartbeatAt: (r.previous_heartbeat_at as Date | null) ?? null,
  });
}

/** SQL of the workers table. */
@Injectable()
export class WorkerRepository {
  constructor(private readonly sql: Sql) {}

  async upsert(w: Pick<Worker, 'id' | 'host' | 'pid' | 'maxConcurrentJobs' | 'maxCpuUnits' | 'maxMemoryMb'>): Promise<void> {
    await this.sql.query(
      `INSERT INTO workers (id, host, pid, status, max_concurrent_jobs, max_cpu_units, max_memory_mb, started_at, last_heartbeat_at)
       VALUES ($1, $2, $3, 'active', $4, $5, $6, now(), now())
       ON CONFLICT (id) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid, status = 'active',
         max_concurrent_jobs = EXCLUDED.max_concurrent_jobs, max_cpu_units = EXCLUDED.max_cpu_units,
         max_memory_mb = EXCLUDED.max_memory_mb, started_at = now(), last_heartbeat_at = now(), stopped_at = NULL,
         executing_job_ids = '{}', previous_heartbeat_at = NULL, heartbeat_seq = 0`,
      [w.id, w.host, w.pid, w.maxConcurrentJobs, w.maxCpuUnits, w.maxMemoryMb]
    );
  }

  /**
   * Records a heartbeat with the jobs the worker executes (or is starting) right now, and keeps the
   * time of the beat before: a job started before that beat and missing from this list is one the
   * worker no longer runs (the leader's OutcomeReaper). `alive` is false when the worker is no longer
   * active or draining (declared lost, or stopped). `cancelled`: which of `runningJobIds` were
   * cancelled: a cancel reaches the handler through the job_cancelled event, and through this answer
   * when the event was lost (Redis down or reconnecting, a publish that failed after its commit).
   */
  async heartbeat(id: string, executingJobIds: readonly string[], runningJobIds: readonly string[], seq: number): Promise<{ alive: boolean; cancelled: string[] }> {
    // `seq`: the beat's number in this process (see the heartbeat_seq migration). A beat that arrives
    // after a later one changes nothing; it answers whether the worker is alive all the same.
    const rows: Array<{ alive: boolean; cancelled: string[] }> = await this.sql.query(
      `WITH beat AS (
         UPDATE workers SET previous_heartbeat_at = last_heartbeat_at, last_heartbeat_at = now(), executing_job_ids = $2::uuid[], heartbeat_seq = $4
         WHERE id = $1 AND status IN ('active', 'draining') AND heartbeat_seq < $4 RETURNING id
       ) SELECT EXISTS (SELECT 1 FROM beat) OR EXISTS (SELECT 1 FROM workers WHERE id = $1 AND status IN ('active', 'draining') AND heartbeat_seq >= $4) AS alive,
                ARRAY(SELECT j.id::text FROM jobs j WHERE j.id = ANY($3::uuid[]) AND j.status = 'cancelled') AS cancelled`,
      [id, executingJobIds, runningJobIds, seq]
    );
    return { alive: rows[0]?.alive === true, cancelled: rows[0]?.cancelled ?? [] };
  }

  /** The row of a worker id as its heartbeats leave it (`beat` changes with each one applied), or null. */
  async beatOf(id: string): Promise<{ status: string; host: string; pid: number; beat: string } | null> {
    const rows: Array<{ status: string; host: string; pid: number; beat: string }> = await this.sql.query(
      `SELECT status, host, pid, heartbeat_seq::text || ' ' || last_heartbeat_at::text AS beat FROM workers WHERE id = $1`,
      [id],
    );
    return rows[0] ?? null;
  }

  async setStatus(id: string, status: WorkerStatus): Promise<void> {
    await this.sql.query(
      `UPDATE workers SET status = $2::varchar, stopped_at = CASE WHEN $2::varchar IN ('stopped', 'lost') THEN now() ELSE stopped_at END WHERE id = $1`,
      [id, status]
    );
  }

  /** Active and draining workers. */
  async listLive(): Promise<Worker[]> {
    const rows: WorkerRow[] = await this.sql.query(`SELECT * FROM workers WHERE status IN ('active', 'draining') ORDER BY id`);
    return rows.map(rowToWorker);
  }

  /** The workers in any of `statuses`, oldest first, for GET /workers. */
  async listByStatus(statuses: readonly WorkerStatus[]): Promise<Worker[]> {
    const rows: WorkerRow[] = await this.sql.query(`SELECT * FROM workers WHERE status = ANY ($1::varchar[]) ORDER BY started_at, id`, [statuses]);
    return rows.map(rowToWorker);
  }

  /**
   * Deletes the workers stopped or lost more than `seconds` ago on which no job holds resources
   * (a job placed there keeps its worker visible until the leader has taken it back); returns their ids.
   */
  async deleteGone(seconds: number): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.sql.query(
      `WITH gone AS (
         DELETE FROM workers w
         WHERE w.status IN ('stopped', 'lost') AND coalesce(w.stopped_at, w.last_heartbeat_at) < now() - make_interval(secs => $1::float8)
           AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.worker_id = w.id AND j.allocated)
         RETURNING w.id
       ) SELECT id FROM gone`,
      [seconds]
    );
    return rows.map((r) => r.id);
  }

  /** Marks live workers silent for longer than `seconds` as lost; returns their ids. */
  async markSilentAsLost(seconds: number): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.sql.query(
      `WITH lost AS (
         UPDATE workers SET status = 'lost', stopped_at = now()
         WHERE status IN ('active', 'draining') AND last_heartbeat_at < now() - make_interval(secs => $1::float8)
         RETURNING id
       ) SELECT id FROM lost`,
      [seconds]
    );
    return rows.map((r) => r.id);
  }
}
