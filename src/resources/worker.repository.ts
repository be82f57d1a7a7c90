import { Injectable } from '@nestjs/common';
import { Sql, type Queryable } from '../database/sql.js';
import { Worker, type WorkerStatus } from './entities/worker.entity.js';

type WorkerRow = Record<string, unknown>;

/** A worker process registering: its id, where it runs, its mark on the row and its capacity. */
export type WorkerRegistration = Pick<Worker, 'id' | 'host' | 'pid' | 'maxConcurrentJobs' | 'maxCpuUnits' | 'maxMemoryMb'> & {
  bootToken: string;
  pidScope: string;
};

/** A heartbeat's answer (see WorkerRepository.heartbeat). */
export type HeartbeatAnswer = { alive: boolean; replaced: boolean };

/** What a booting process reads of the row of its WORKER_ID (see worker-id-claim.ts). */
export interface WorkerRowBeat {
  status: string;
  host: string;
  pid: number;
  /** Changes with every heartbeat applied, and at every registration. */
  beat: string;
  bootToken: string | null;
  pidScope: string | null;
}

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

  /**
   * Registers a worker process (`bootToken` marks the row as its own). The row is taken only when it is
   * free: none, stopped or lost, already this process's, or still the holder's that the boot judged gone
   * (`replacing`: that holder's token, see worker-id-claim.ts). False when another live process holds it:
   * a registration of that process came in between.
   */
  async upsert(w: WorkerRegistration, replacing: string | null = null): Promise<boolean> {
    const rows: unknown[] = await this.sql.query(
      `INSERT INTO workers (id, host, pid, status, max_concurrent_jobs, max_cpu_units, max_memory_mb, started_at, last_heartbeat_at, boot_token, pid_scope)
       VALUES ($1, $2, $3, 'active', $4, $5, $6, now(), now(), $7, $8)
       ON CONFLICT (id) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid, status = 'active',
         max_concurrent_jobs = EXCLUDED.max_concurrent_jobs, max_cpu_units = EXCLUDED.max_cpu_units,
         max_memory_mb = EXCLUDED.max_memory_mb, started_at = now(), last_heartbeat_at = now(), stopped_at = NULL,
         executing_job_ids = '{}', previous_heartbeat_at = NULL, heartbeat_seq = 0,
         boot_token = EXCLUDED.boot_token, pid_scope = EXCLUDED.pid_scope
       WHERE workers.status NOT IN ('active', 'draining') OR workers.boot_token = EXCLUDED.boot_token
          OR workers.boot_token IS NOT DISTINCT FROM $9::uuid
       RETURNING id`,
      [w.id, w.host, w.pid, w.maxConcurrentJobs, w.maxCpuUnits, w.maxMemoryMb, w.bootToken, w.pidScope, replacing]
    );
    return rows.length > 0;
  }

  /**
   * Records a heartbeat with the jobs the worker executes (or is starting) right now, and keeps the
   * time of the beat before: a job started before that beat and missing from this list is one the
   * worker no longer runs (the leader's OutcomeReaper). `alive` is false when the worker is no longer
   * active or draining (declared lost, or stopped). `replaced`: the row carries another process's
   * token (another process registered under this id since). It reads and writes `workers` alone: a lock
   * on `jobs` (an operator's VACUUM FULL, a migration) must not hold back the lease, or every running
   * job would be aborted while PostgreSQL answers (see cancelledAmong for the jobs' side).
   */
  async heartbeat(
    id: string,
    bootToken: string,
    executingJobIds: readonly string[],
    seq: number,
    via: Queryable = this.sql,
  ): Promise<HeartbeatAnswer> {
    // `seq`: the beat's number in this process (see the heartbeat_seq migration). A beat that arrives
    // after a later one changes nothing; it answers whether the worker is alive all the same. `via`:
    // the worker's own connection for its beats (HeartbeatConnection), else the pool.
    const rows: HeartbeatAnswer[] = await via.query(
      `WITH beat AS (
         UPDATE workers SET previous_heartbeat_at = last_heartbeat_at, last_heartbeat_at = now(), executing_job_ids = $2::uuid[], heartbeat_seq = $3
         WHERE id = $1 AND boot_token = $4 AND status IN ('active', 'draining') AND heartbeat_seq < $3 RETURNING id
       ) SELECT EXISTS (SELECT 1 FROM beat)
                  OR EXISTS (SELECT 1 FROM workers WHERE id = $1 AND boot_token = $4 AND status IN ('active', 'draining') AND heartbeat_seq >= $3) AS alive,
                EXISTS (SELECT 1 FROM workers WHERE id = $1 AND boot_token IS DISTINCT FROM $4) AS replaced`,
      [id, executingJobIds, seq, bootToken]
    );
    const row = rows[0];
    return { alive: row?.alive === true, replaced: row?.replaced === true };
  }

  /**
   * Which of `jobIds` (the jobs whose handler runs) were cancelled: a cancel reaches the handler through
   * the job_cancelled event, and through this read, after each heartbeat, when the event was lost
   * (Redis down or reconnecting, a publish that failed after its commit).
   */
  async cancelledAmong(jobIds: readonly string[]): Promise<string[]> {
    if (jobIds.length === 0) return [];
    const rows: Array<{ id: string }> = await this.sql.query(`SELECT id::text AS id FROM jobs WHERE id = ANY($1::uuid[]) AND status = 'cancelled'`, [jobIds]);
    return rows.map((r) => r.id);
  }

  /** The row of a worker id as its heartbeats leave it (`beat` changes with each one applied), or null. */
  async beatOf(id: string): Promise<WorkerRowBeat | null> {
    const rows: WorkerRowBeat[] = await this.sql.query(
      `SELECT status, host, pid, heartbeat_seq::text || ' ' || last_heartbeat_at::text AS beat,
              boot_token AS "bootToken", pid_scope AS "pidScope"
       FROM workers WHERE id = $1`,
      [id],
    );
    return rows[0] ?? null;
  }

  /** Sets the status of this process's row (`bootToken`): never of a row another process took over. */
  async setStatus(id: string, bootToken: string, status: WorkerStatus): Promise<void> {
    await this.sql.query(
      `UPDATE workers SET status = $2::varchar, stopped_at = CASE WHEN $2::varchar IN ('stopped', 'lost') THEN now() ELSE stopped_at END
       WHERE id = $1 AND boot_token = $3`,
      [id, status, bootToken]
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
