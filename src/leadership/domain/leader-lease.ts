/**
 * The scheduler leader's lease (DESIGN §1, §4): how long leadership lasts without a renewal, and
 * when a leader must consider itself deposed. Pure: times are milliseconds of one monotonic clock.
 *
 * Leadership is a PostgreSQL session advisory lock whose session PostgreSQL ends after `leaseMs`
 * idle (`idle_session_timeout`); the leader renews by running a statement every `renewMs`. A
 * leader that stops responding (frozen process, GC pause, network cut) therefore loses the lock
 * `leaseMs` after its last renewal, and a follower, trying every `renewMs`, takes over: within
 * `leaseMs + renewMs`, which is at most WORKER_LOST_SECONDS. Every takeover increments an epoch
 * that the scheduler's placement statements check in SQL, so a deposed leader that has not noticed
 * yet cannot place anything.
 */
export interface LeaderLeaseTiming {
  /** Idle time after which PostgreSQL ends the leader's session, releasing the lock. */
  leaseMs: number;
  /** How often the leader renews, and a follower tries to take over. */
  renewMs: number;
}

/** Half of WORKER_LOST_SECONDS (at least 1 s, at most 30 s), renewed three times per lease (at least once a second). */
export function leaderLeaseTiming(workerLostSeconds: number): LeaderLeaseTiming {
  const leaseMs = Math.min(30_000, Math.max(1000, Math.floor((workerLostSeconds * 1000) / 2)));
  return { leaseMs, renewMs: Math.min(1000, Math.floor(leaseMs / 3)) };
}

/**
 * Until when a renewal sent at `sentAt` keeps the lease, on the leader's own clock. PostgreSQL
 * counts the idle time from when it answered, which is after `sentAt`, so the lock is held at least
 * until `sentAt + leaseMs`; the margin absorbs a clock running a little fast.
 */
export function leaseHeldUntil(sentAt: number, leaseMs: number): number {
  return sentAt + leaseMs - Math.min(500, Math.floor(leaseMs / 10));
}

export type LeaderVerdict = 'lead' | 'lease-expired' | 'superseded';

/**
 * Whether a process that believes it leads still does: its lease must not have expired on its own
 * clock, and the leadership epoch it last read (null: not read since the last renewal) must be its own.
 */
export function leaderVerdict(state: { heldUntil: number; epoch: number; epochSeen: number | null }, now: number): LeaderVerdict {
  if (state.epochSeen !== null && state.epochSeen !== state.epoch) return 'superseded';
  if (now >= state.heldUntil) return 'lease-expired';
  return 'lead';
}
