/** What a tick does while a job of the schedule (the previous tick's, a trigger's) is unfinished (DESIGN §11). */
export const OVERLAP_POLICIES = ['skip', 'allow', 'cancel_previous'] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

/** What happens to ticks missed while no scheduler ran (DESIGN §11). */
export const CATCH_UP_MODES = ['none', 'latest', 'all'] as const;
export type CatchUpMode = (typeof CATCH_UP_MODES)[number];

/** Most missed ticks `catch_up: all` fires; older ones are dropped. */
export const CATCH_UP_ALL_LIMIT = 100;
