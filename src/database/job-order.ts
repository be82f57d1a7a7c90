/**
 * The order of ready jobs of equal priority (DESIGN §10): the one due earliest first, a job being
 * due at its run_at, or at its submit when it came without one or with one in the past (a past
 * run_at means "as soon as possible", not "before everyone"). The ready indexes are built on this
 * very expression (PostgreSQL matches it textually): change both together. Here, beside the
 * migrations, because both the ready queue (resources/) and the fair ready queue (jobs/) order by it.
 */
export const DUE_AT = 'GREATEST(created_at, run_at)';

/** What the queue rules hold back as a whole (DESIGN §12): every ready job of `types`, and of each (type, key) pair. */
export interface HeldBack {
  types: string[];
  pairs: Array<{ type: string; key: string }>;
}

/**
 * SQL: the job of alias `a` (`'j.'`, or `''` for none) is not held back. `$types`, `$pairTypes`,
 * `$pairKeys`: the parameters of heldParams, in its order.
 */
export const NOT_HELD = (a: string, types: string, pairTypes: string, pairKeys: string): string =>
  `NOT (${a}type = ANY(${types}::varchar[])) AND NOT EXISTS (SELECT 1 FROM unnest(${pairTypes}::varchar[], ${pairKeys}::varchar[]) AS hb(type, key) WHERE hb.type = ${a}type AND hb.key = ${a}concurrency_key)`;

/** The three parameters NOT_HELD reads: the held types, and the held pairs' types and keys. */
export const heldParams = (held: HeldBack): [string[], string[], string[]] => [held.types, held.pairs.map((p) => p.type), held.pairs.map((p) => p.key)];

/**
 * A ready job as the placement pass reads it: from the ready queue (resources/) or from the fair ready
 * queue (jobs/), both selecting the columns below (waiting_reason's code and message as reason_code and
 * reason_message).
 */
export interface ReadyJob {
  id: string;
  type: string;
  concurrencyKey: string | null;
  /** Its priority (job_priority): the ready queues are ordered by it first. */
  priority: string;
  cpuUnits: number;
  memoryMb: number;
  queuedAt: Date | null;
  createdAt: Date;
  reasonCode: string | null;
  reasonMessage: string | null;
}

/** A ready job from a row of either ready queue. */
export function toReadyJob(r: Record<string, unknown>): ReadyJob {
  return {
    id: r.id as string,
    type: r.type as string,
    concurrencyKey: (r.concurrency_key as string | null) ?? null,
    priority: r.priority as string,
    cpuUnits: r.cpu_units as number,
    memoryMb: r.memory_mb as number,
    queuedAt: (r.queued_at as Date | null) ?? null,
    createdAt: r.created_at as Date,
    reasonCode: (r.reason_code as string | null) ?? null,
    reasonMessage: (r.reason_message as string | null) ?? null,
  };
}
