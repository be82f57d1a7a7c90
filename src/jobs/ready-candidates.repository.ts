import { Injectable } from '@nestjs/common';
import { QUEUE_RULE_REASONS } from '../common/domain/waiting-reasons.js';
import { Sql } from '../database/sql.js';
import { statusAmong } from '../database/status-by-id.js';
import type { WaitingReason } from './entities/job.entity.js';
import { DUE_AT, toReadyJob, type HeldBack, type ReadyJob } from '../database/job-order.js';

const READY_COLUMNS = `id, type, concurrency_key, priority, cpu_units, memory_mb, queued_at, created_at, ${DUE_AT} AS due_at,
  waiting_reason->>'code' AS reason_code, waiting_reason->>'message' AS reason_message`;
/** The rows of both parts of the fair ready queue, with each job's turn. */
const CANDIDATE_COLUMNS = `id, type, concurrency_key, priority, cpu_units, memory_mb, queued_at, created_at, due_at, reason_code, reason_message, turn`;

/**
 * The ready queue with fair turns (DESIGN §12): among ready jobs of equal priority, distinct
 * concurrency keys take turns (round robin; jobs without a key share one turn), so a key with 10,000
 * ready jobs delays a key with 10 by one turn per key, not by 10,000 jobs. Jobs the queue rules hold
 * back as a whole are left out, so they never hold back the jobs behind them; their reasons are
 * written here in bulk.
 */
@Injectable()
export class ReadyCandidatesRepository {
  constructor(private readonly sql: Sql) {}

  /**
   * Whether any ready, unplaced job has a concurrency key: the first entry of jobs_ready_key_due_idx.
   * Written as an ordered LIMIT 1, not EXISTS: PostgreSQL drops an EXISTS subquery's ORDER BY, and with
   * statistics from a moment when many keyed jobs were ready (a burst just drained, ANALYZE not yet run)
   * it then expects a match in the first rows of a sequential scan and reads the whole table (2-3 ms at
   * 10,000 rows, on every placement pass); the ordered read costs one index probe whatever the statistics.
   */
  async anyKeyedReady(): Promise<boolean> {
    const rows: unknown[] = await this.sql.query(
      `SELECT 1 FROM jobs WHERE status = 'ready' AND NOT allocated AND concurrency_key IS NOT NULL ORDER BY concurrency_key, type LIMIT 1`,
    );
    return rows.length > 0;
  }

  /**
   * Up to `limit` ready, unplaced jobs not held back: by priority, then turn (each key's 1st, 2nd, ...
   * job), then the one due earliest (DUE_AT). The distinct (key, type) pairs with ready jobs are found
   * by a skip scan of jobs_ready_key_due_idx, and the pairs and types held back are dropped there,
   * one probe each, without reading their jobs. Each open pair's jobs are then read from the same
   * index in (priority, due time) order, at most a key's share of the window, and each key keeps its
   * first `share` jobs across its types.
   */
  async fairReadyQueue(limit: number, held: HeldBack, bound: { cpuUnits: number; memoryMb: number } | null = null): Promise<ReadyJob[]> {
    // Jobs bigger than any accepting worker (the scheduler's size bound) stay out, as in the head read.
    const fits = (alias: string) => (bound ? ` AND ${alias}cpu_units <= $5::int AND ${alias}memory_mb <= $6::int` : '');
    const rows: Array<Record<string, unknown>> = await this.sql.query(
      `WITH RECURSIVE pairs(k, t) AS (
         (SELECT concurrency_key, type FROM jobs WHERE status = 'ready' AND NOT allocated AND concurrency_key IS NOT NULL
          ORDER BY concurrency_key, type LIMIT 1)
         UNION ALL
         SELECT nx.k, nx.t FROM pairs CROSS JOIN LATERAL (
           SELECT j.concurrency_key AS k, j.type AS t FROM jobs j
           WHERE j.status = 'ready' AND NOT j.allocated AND j.concurrency_key IS NOT NULL
             AND (j.concurrency_key, j.type) > (pairs.k, pairs.t)
           ORDER BY j.concurrency_key, j.type LIMIT 1
         ) nx
       ), open_pairs AS (
         SELECT p.k, p.t FROM pairs p
         WHERE NOT (p.t = ANY($2::varchar[]))
           AND NOT EXISTS (SELECT 1 FROM unnest($3::varchar[], $4::varchar[]) AS h(type, key) WHERE h.type = p.t AND h.key = p.k)
       ), share AS (
         SELECT greatest(1, ceil($1::float8 / greatest(1, count(DISTINCT k))))::int AS n FROM open_pairs
       ), keyed_all AS (
         SELECT c.*,
           row_number() OVER (PARTITION BY c.concurrency_key, c.priority ORDER BY c.due_at, c.id) AS turn,
           row_number() OVER (PARTITION BY c.concurrency_key ORDER BY c.priority DESC, c.due_at, c.id) AS pos
         FROM open_pairs o CROSS JOIN LATERAL (
           SELECT ${READY_COLUMNS} FROM jobs j
           WHERE j.status = 'ready' AND NOT j.allocated AND j.concurrency_key = o.k AND j.type = o.t${fits('j.')}
           ORDER BY j.priority DESC, ${DUE_AT}, j.id
           LIMIT (SELECT n FROM share)
         ) c
       ), keyed AS (
         SELECT ${CANDIDATE_COLUMNS} FROM keyed_all WHERE pos <= (SELECT n FROM share)
       ), plain AS (
         SELECT p.*, row_number() OVER (PARTITION BY p.priority ORDER BY p.due_at, p.id) AS turn
         FROM (
           SELECT ${READY_COLUMNS} FROM jobs
           WHERE status = 'ready' AND NOT allocated AND concurrency_key IS NULL AND NOT (type = ANY($2::varchar[]))${fits('')}
           ORDER BY priority DESC, ${DUE_AT}, id LIMIT $1
         ) p
       )
       SELECT * FROM (SELECT * FROM keyed UNION ALL SELECT ${CANDIDATE_COLUMNS} FROM plain) candidates
       ORDER BY priority DESC, turn, due_at, id LIMIT $1`,
      [limit, held.types, held.pairs.map((p) => p.type), held.pairs.map((p) => p.key), ...(bound ? [bound.cpuUnits, bound.memoryMb] : [])],
    );
    return rows.map(toReadyJob);
  }

  /**
   * Writes one reason to every ready, unplaced job of a type (key null) or of a (type, key) pair,
   * where it differs (no event: the state does not change); only to the jobs `onlyIds` names when
   * given (found by primary key). Returns how many rows changed.
   */
  async setHeldReasons(items: ReadonlyArray<{ type: string; key: string | null; reason: WaitingReason }>, onlyIds?: readonly string[]): Promise<number> {
    if (items.length === 0 || onlyIds?.length === 0) return 0;
    const rows: Array<{ id: string }> = await this.sql.query(
      `WITH changed AS (
         UPDATE jobs j SET waiting_reason = r.reason
         FROM unnest($1::varchar[], $2::varchar[], $3::jsonb[]) AS r(type, key, reason)
         WHERE ${onlyIds ? `j.id = ANY($4::uuid[]) AND ${statusAmong(['ready'])}` : `j.status = 'ready'`} AND NOT j.allocated
           AND j.type = r.type AND (r.key IS NULL OR j.concurrency_key = r.key)
           AND j.waiting_reason IS DISTINCT FROM r.reason
         RETURNING j.id
       ) SELECT id FROM changed`,
      [items.map((i) => i.type), items.map((i) => i.key), items.map((i) => JSON.stringify(i.reason)), ...(onlyIds ? [onlyIds] : [])],
    );
    return rows.length;
  }

  /**
   * Clears the queue-rule reasons (QUEUE_PAUSED, CONCURRENCY_LIMIT, RATE_LIMITED) of ready jobs of a
   * type (key null) or of a (type, key) pair that the rules no longer hold back as a whole, so that
   * jobs beyond the scheduler's window do not keep a reason that is no longer true.
   */
  async clearHeldReasons(items: ReadonlyArray<{ type: string; key: string | null }>): Promise<number> {
    if (items.length === 0) return 0;
    const rows: Array<{ id: string }> = await this.sql.query(
      `WITH cleared AS (
         UPDATE jobs j SET waiting_reason = NULL
         FROM unnest($1::varchar[], $2::varchar[]) AS r(type, key)
         WHERE j.status = 'ready' AND NOT j.allocated AND j.type = r.type AND (r.key IS NULL OR j.concurrency_key = r.key)
           AND j.waiting_reason->>'code' IN (${QUEUE_RULE_REASONS.map((c) => `'${c}'`).join(', ')})
         RETURNING j.id
       ) SELECT id FROM cleared`,
      [items.map((i) => i.type), items.map((i) => i.key)],
    );
    return rows.length;
  }

  /**
   * Clears the queue-rule reasons of every ready, unplaced job outside the given types (key null) and
   * (type, key) pairs: a leader that takes over does not know what its predecessor held back, so it
   * clears whatever reasons its own rules do not hold, in one statement, once. Returns how many rows changed.
   */
  async clearHeldReasonsExcept(keep: ReadonlyArray<{ type: string; key: string | null }>): Promise<number> {
    const rows: Array<{ id: string }> = await this.sql.query(
      `WITH cleared AS (
         UPDATE jobs j SET waiting_reason = NULL
         WHERE j.status = 'ready' AND NOT j.allocated
           AND j.waiting_reason->>'code' IN (${QUEUE_RULE_REASONS.map((c) => `'${c}'`).join(', ')})
           AND NOT EXISTS (
             SELECT 1 FROM unnest($1::varchar[], $2::varchar[]) AS r(type, key)
             WHERE j.type = r.type AND (r.key IS NULL OR j.concurrency_key = r.key))
         RETURNING j.id
       ) SELECT id FROM cleared`,
      [keep.map((i) => i.type), keep.map((i) => i.key)],
    );
    return rows.length;
  }
}
