/** The dependency edges between jobs (job_dependencies): locking, reading and walking them. */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Sql } from '../database/sql.js';
import type { JobStatus } from './domain/job-state.js';
import type { JobErrorInfo } from './entities/job.entity.js';
import type { DependencyResult } from './job-row.js';

export interface DependencyState {
  id: string;
  status: JobStatus;
  error: JobErrorInfo | null;
}

/** SQL and row mapping for the dependency graph. No decisions: those belong to the services. */
@Injectable()
export class JobGraphRepository {
  constructor(private readonly sql: Sql) {}

  /**
   * Reads the dependencies' states and holds a share lock on them until the transaction ends, so
   * none of them can change state between this check and the insert of the edges (DAG counters).
   */
  async lockDependencies(ids: string[], tx: EntityManager): Promise<DependencyState[]> {
    if (ids.length === 0) return [];
    const rows: Array<{ id: string; status: JobStatus; error: JobErrorInfo | null }> = await this.sql.query(
      `SELECT id, status, error FROM jobs WHERE id = ANY($1::uuid[]) ORDER BY id FOR SHARE`,
      [ids], tx
    );
    return rows;
  }

  /** depends_on and dependents of each job, in a stable order. */
  async edgesOf(ids: string[], tx?: EntityManager): Promise<Map<string, { dependsOn: string[]; dependents: string[] }>> {
    const edges = new Map(ids.map((id) => [id, { dependsOn: [] as string[], dependents: [] as string[] }]));
    if (ids.length === 0) return edges;
    const rows: Array<{ job_id: string; depends_on_id: string }> = await this.sql.query(
      `SELECT job_id, depends_on_id FROM job_dependencies WHERE job_id = ANY($1::uuid[])
       UNION ALL
       SELECT job_id, depends_on_id FROM job_dependencies WHERE depends_on_id = ANY($1::uuid[])
       ORDER BY job_id, depends_on_id`,
      [ids], tx
    );
    const seen = new Set<string>();
    for (const { job_id, depends_on_id } of rows) {
      const key = `${job_id}>${depends_on_id}`;
      if (seen.has(key)) continue;
      seen.add(key);
      edges.get(job_id)?.dependsOn.push(depends_on_id);
      edges.get(depends_on_id)?.dependents.push(job_id);
    }
    return edges;
  }

  /**
   * Results of a job's direct dependencies (DESIGN §5: ctx gives them to the handler), with their size
   * as JSON text in all (`bytes`). When that is over `maxBytes` no result is sent (each is null): the
   * caller fails the job, rather than reading a gigabyte into one process.
   */
  async dependencyResults(jobId: string, maxBytes: number): Promise<{ results: DependencyResult[]; bytes: number }> {
    const rows: Array<DependencyResult & { bytes: number }> = await this.sql.query(
      `WITH deps AS (
         SELECT j.id, j.ref, j.type, j.result, j.created_at FROM job_dependencies d JOIN jobs j ON j.id = d.depends_on_id WHERE d.job_id = $1
       ), size AS (SELECT coalesce(sum(octet_length(result::text)), 0)::float8 AS bytes FROM deps)
       SELECT d.id, d.ref, d.type, CASE WHEN s.bytes <= $2 THEN d.result END AS result, s.bytes
       FROM deps d CROSS JOIN size s ORDER BY d.created_at, d.id`,
      [jobId, maxBytes]
    );
    return { results: rows.map(({ id, ref, type, result }) => ({ id, ref, type, result })), bytes: rows[0]?.bytes ?? 0 };
  }

  /**
   * The connected dependency graph around a job (both directions), at most `limit` nodes, oldest first.
   * The walk is breadth-first from the job and stops at `limit` + 1 nodes: PostgreSQL evaluates a
   * recursive query only as far as its reader pulls, so a job tied to a hub with a million dependents
   * reads `limit` + 1 rows, not the million, and a graph too large keeps the job itself and its nearest
   * neighbours (the walk's first rows), never just the oldest jobs of the component. `truncated` says
   * the walk found more. Edges are those between the nodes kept.
   */
  async graph(id: string, limit: number): Promise<{ nodes: Array<{ id: string; ref: string | null; type: string; status: JobStatus }>; edges: Array<{ job_id: string; depends_on_id: string }>; truncated: boolean }> {
    const walked: Array<{ id: string }> = await this.sql.query(
      `WITH RECURSIVE comp(id) AS (
         SELECT $1::uuid
         UNION
         SELECT n.id FROM comp JOIN LATERAL (
           SELECT d.depends_on_id AS id FROM job_dependencies d WHERE d.job_id = comp.id
           UNION ALL
           SELECT d.job_id FROM job_dependencies d WHERE d.depends_on_id = comp.id
         ) n ON true
       )
       SELECT id FROM comp LIMIT $2`,
      [id, limit + 1],
    );
    const truncated = walked.length > limit;
    // The walk's first row is the job itself: dropping the last row kept never drops it.
    const kept = walked.slice(0, limit).map((r) => r.id);
    const nodes: Array<{ id: string; ref: string | null; type: string; status: JobStatus }> = await this.sql.query(
      `SELECT j.id, j.ref, j.type, j.status FROM jobs j WHERE j.id = ANY($1::uuid[]) ORDER BY j.created_at, j.id`,
      [kept],
    );
    const edges: Array<{ job_id: string; depends_on_id: string }> = await this.sql.query(
      `SELECT job_id, depends_on_id FROM job_dependencies WHERE job_id = ANY($1::uuid[]) AND depends_on_id = ANY($1::uuid[])
       ORDER BY depends_on_id, job_id`,
      [nodes.map((n) => n.id)],
    );
    return { nodes, edges, truncated };
  }

  /** The unfinished dependencies of blocked jobs (their live WAITING_FOR_DEPENDENCIES reason). */
  async unfinishedDependencies(jobIds: string[]): Promise<Map<string, { unfinished: string[]; total: number }>> {
    const out = new Map<string, { unfinished: string[]; total: number }>();
    if (jobIds.length === 0) return out;
    const rows: Array<{ job_id: string; unfinished: string[]; total: number }> = await this.sql.query(
      `SELECT d.job_id, count(*)::int AS total,
              coalesce(array_agg(d.depends_on_id ORDER BY j.created_at, j.id) FILTER (WHERE j.status <> 'completed'), '{}') AS unfinished
       FROM job_dependencies d JOIN jobs j ON j.id = d.depends_on_id
       WHERE d.job_id = ANY($1::uuid[]) GROUP BY d.job_id`,
      [jobIds],
    );
    for (const r of rows) out.set(r.job_id, { unfinished: r.unfinished, total: r.total });
    return out;
  }
}
