import { UUID } from '../../common/domain/uuid.js';

/**
 * What a Socket.IO client listens to (DESIGN §7). Pure. A client with no filter gets every job's
 * events; filters add up (any job named, any type named); the first filter narrows an unfiltered
 * client, and removing the last one makes it unfiltered again.
 */
export interface Subscriptions {
  jobIds: ReadonlySet<string>;
  types: ReadonlySet<string>;
  /** Schedules whose schedule_update events the client gets (DESIGN §15). */
  scheduleIds?: ReadonlySet<string>;
}

export interface SubscriptionView {
  all: boolean;
  job_ids: string[];
  types: string[];
  /** Present once the client names a schedule. */
  schedule_ids?: string[];
}

export interface Filter {
  jobIds: string[];
  types: string[];
  scheduleIds?: string[];
}

const TYPE = /^[a-z][a-z0-9_]{0,99}$/;
/** Most filters one client may hold. */
export const MAX_FILTERS = 1000;
const TOO_MANY = 'too many' as const;

export const EMPTY: Subscriptions = { jobIds: new Set(), types: new Set() };

/**
 * Said in the acknowledgement of an `unsubscribe` that leaves a client with no filter: it then gets the
 * updates of every job, which a client that meant to hear less would not expect.
 */
export const EVERY_JOB_NOTE =
  'no filter left: this client now receives the updates of every job; subscribe to a job_id or a type to narrow it again';
const scheduleIdsOf = (s: Subscriptions): ReadonlySet<string> => s.scheduleIds ?? new Set<string>();

export function isAll(s: Subscriptions): boolean {
  return s.jobIds.size === 0 && s.types.size === 0 && scheduleIdsOf(s).size === 0;
}

const views = new WeakMap<Subscriptions, SubscriptionView>();

/** The acknowledged view of a client's filters (sorted lists), computed once per set of filters. */
export function view(s: Subscriptions): SubscriptionView {
  const known = views.get(s);
  if (known) return known;
  const scheduleIds = [...scheduleIdsOf(s)].sort();
  const shown = { all: isAll(s), job_ids: [...s.jobIds].sort(), types: [...s.types].sort(), ...(scheduleIds.length > 0 ? { schedule_ids: scheduleIds } : {}) };
  views.set(s, shown);
  return shown;
}

/** Filters that name the same as `s` are `s` itself: a message that changes nothing costs nothing more. */
function unchangedOr(s: Subscriptions, next: Subscriptions): Subscriptions {
  const same = next.jobIds.size === s.jobIds.size && next.types.size === s.types.size && scheduleIdsOf(next).size === scheduleIdsOf(s).size;
  return same ? s : next;
}

/**
 * `a,b` and `['a', 'b']` both give ['a', 'b']; null for values that are not strings, TOO_MANY past
 * MAX_FILTERS (told before any further work: a 1 MB message of one name repeated would be checked name by name).
 */
function values(raw: unknown): string[] | null | typeof TOO_MANY {
  if (raw === undefined || raw === null) return [];
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length > MAX_FILTERS) return TOO_MANY;
  if (!list.every((v) => typeof v === 'string')) return null;
  const split = (list as string[]).flatMap((v) => v.split(','));
  if (split.length > MAX_FILTERS) return TOO_MANY;
  const parts = split.map((v) => v.trim()).filter((v) => v !== '');
  // A filter sent with nothing in it (`type=`) stays [''], which no check passes: read as no filter, it
  // would subscribe to every job's events.
  return parts.length > 0 || list.length === 0 ? parts : [''];
}

const FILTER_KEYS = ['job_id', 'type', 'schedule_id'];

/**
 * Reads a filter from a handshake query or a subscribe/unsubscribe message (`{job_id}`, `{type}` and/or
 * `{schedule_id}`, each a string, a comma-separated string or a list). Returns an error message for bad
 * values and for keys it does not know.
 */
export function parseFilter(input: unknown, { requireOne }: { requireOne: boolean }): Filter | { error: string } {
  if (input !== undefined && (typeof input !== 'object' || input === null || Array.isArray(input))) {
    return { error: 'expected an object like {job_id: "<uuid>"} or {type: "<job type>"}' };
  }
  const record = (input ?? {}) as Record<string, unknown>;
  // A misspelt key (`jobId`, `status`) beside a good one would otherwise narrow the client to less than it asked for, silently.
  const unknownKey = Object.keys(record).find((key) => !FILTER_KEYS.includes(key));
  if (unknownKey !== undefined) return { error: `unknown key "${unknownKey.slice(0, 100)}": a filter names ${FILTER_KEYS.join(', ')}` };
  const jobIds = values(record.job_id);
  const types = values(record.type);
  const scheduleIds = values(record.schedule_id);
  if (jobIds === TOO_MANY || types === TOO_MANY || scheduleIds === TOO_MANY) return { error: `at most ${MAX_FILTERS} filters per client` };
  if (jobIds === null) return { error: 'job_id must be a string or a list of strings' };
  if (types === null) return { error: 'type must be a string or a list of strings' };
  if (scheduleIds === null) return { error: 'schedule_id must be a string or a list of strings' };
  const badId = jobIds.find((id) => !UUID.test(id));
  if (badId !== undefined) return { error: `job_id "${badId.slice(0, 100)}" is not a UUID` };
  const badSchedule = scheduleIds.find((id) => !UUID.test(id));
  if (badSchedule !== undefined) return { error: `schedule_id "${badSchedule.slice(0, 100)}" is not a UUID` };
  const badType = types.find((t) => !TYPE.test(t));
  if (badType !== undefined) return { error: `type "${badType.slice(0, 100)}" is not a job type (snake_case)` };
  if (requireOne && jobIds.length === 0 && types.length === 0 && scheduleIds.length === 0) return { error: 'name a job_id, a type or a schedule_id' };
  const filter: Filter = { jobIds: jobIds.map((id) => id.toLowerCase()), types };
  if (scheduleIds.length > 0) filter.scheduleIds = scheduleIds.map((id) => id.toLowerCase());
  return filter;
}

export function subscribe(s: Subscriptions, f: Filter): Subscriptions | { error: string } {
  const jobIds = new Set([...s.jobIds, ...f.jobIds]);
  const types = new Set([...s.types, ...f.types]);
  const scheduleIds = new Set([...scheduleIdsOf(s), ...(f.scheduleIds ?? [])]);
  if (jobIds.size + types.size + scheduleIds.size > MAX_FILTERS) return { error: `at most ${MAX_FILTERS} filters per client` };
  // Only additions: the same sizes mean the same filters.
  return unchangedOr(s, withSchedules({ jobIds, types }, scheduleIds));
}

export function unsubscribe(s: Subscriptions, f: Filter): Subscriptions {
  const jobIds = new Set(s.jobIds);
  const types = new Set(s.types);
  for (const id of f.jobIds) jobIds.delete(id);
  for (const t of f.types) types.delete(t);
  const scheduleIds = new Set(scheduleIdsOf(s));
  for (const id of f.scheduleIds ?? []) scheduleIds.delete(id);
  // Only removals: the same sizes mean the same filters.
  return unchangedOr(s, withSchedules({ jobIds, types }, scheduleIds));
}

/** Schedule filters are carried only by clients that named a schedule. */
function withSchedules(s: Subscriptions, scheduleIds: ReadonlySet<string>): Subscriptions {
  return scheduleIds.size > 0 ? { ...s, scheduleIds } : s;
}

/** The rooms a client with these subscriptions sits in. */
export function roomsOf(s: Subscriptions): string[] {
  if (isAll(s)) return ['all'];
  return [...[...s.jobIds].map((id) => `job:${id}`), ...[...s.types].map((t) => `type:${t}`), ...[...scheduleIdsOf(s)].map((id) => `schedule:${id}`)];
}

/** The rooms a schedule's update reaches: unfiltered clients and those that named the schedule. */
export function roomsForSchedule(scheduleId: string): string[] {
  return ['all', `schedule:${scheduleId}`];
}

/** The rooms an event of this job reaches. */
export function roomsFor(jobId: string, type: string): string[] {
  return ['all', `job:${jobId}`, `type:${type}`];
}
