/**
 * The order of ready jobs of equal priority (DESIGN §10): the one due earliest first, a job being
 * due at its run_at, or at its submit when it came without one or with one in the past (a past
 * run_at means "as soon as possible", not "before everyone"). The ready indexes are built on this
 * very expression (PostgreSQL matches it textually): change both together. Here, beside the
 * migrations, because both the ready queue (resources/) and the fair ready queue (jobs/) order by it.
 */
export const DUE_AT = 'GREATEST(created_at, run_at)';
