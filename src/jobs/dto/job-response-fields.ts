import type { Job } from '../entities/job.entity.js';

/** A job's dependency edges, as the response shows them. */
export interface Edges {
  dependsOn: readonly string[];
  dependents: readonly string[];
}

type Get<V> = (job: Job, edges: Edges) => V;

/**
 * One field of a job's response: its name, and its value both as it stands in the response object and
 * as JSON text. Both come from one getter through the field's kind (below), so the object and the text
 * cannot disagree.
 */
export interface ResponseField<N extends string = string, V = unknown> {
  readonly name: N;
  /** `"name":`, written once. */
  readonly key: string;
  readonly value: Get<V>;
  readonly json: Get<string>;
}

/** The response object that an ordered list of fields makes. */
export type ObjectOf<F extends readonly ResponseField[]> = {
  -readonly [E in F[number] as E['name']]: E extends ResponseField<string, infer V> ? V : never;
};

const field = <N extends string, V>(name: N, value: Get<V>, json: Get<string>): ResponseField<N, V> => ({
  name,
  key: `${JSON.stringify(name)}:`,
  value,
  json,
});

/** A string that needs no escaping: a UUID from the database, an enum value. */
export const plain = <N extends string, V extends string>(name: N, get: Get<V>) => field(name, get, (job, edges) => `"${get(job, edges)}"`);

/** A value that may be undefined stands as null in the response. */
type OrNull<V> = undefined extends V ? Exclude<V, undefined> | null : V;

export const text = <N extends string, V extends string | null | undefined>(name: N, get: Get<V>) =>
  field(
    name,
    (job, edges) => (get(job, edges) ?? null) as OrNull<V>,
    (job, edges) => {
      const value = get(job, edges);
      return value == null ? 'null' : JSON.stringify(value);
    },
  );

export const num = <N extends string>(name: N, get: Get<number>) =>
  field(name, get, (job, edges) => {
    const value = get(job, edges);
    return Number.isFinite(value) ? String(value) : 'null';
  });

/** An instant, as an ISO 8601 string. */
export const instant = <N extends string>(name: N, get: Get<Date>) =>
  field(
    name,
    (job, edges) => get(job, edges).toISOString(),
    (job, edges) => `"${get(job, edges).toISOString()}"`,
  );

/** An instant or null, as an ISO 8601 string or null. */
export const maybeInstant = <N extends string>(name: N, get: Get<Date | null | undefined>) =>
  field(
    name,
    (job, edges) => get(job, edges)?.toISOString() ?? null,
    (job, edges) => {
      const at = get(job, edges);
      return at ? `"${at.toISOString()}"` : 'null';
    },
  );

/** Any JSON value (payload, result, error): undefined is null. */
export const anyJson = <N extends string, V>(name: N, get: Get<V>) =>
  field(
    name,
    (job, edges) => (get(job, edges) ?? null) as OrNull<V>,
    (job, edges) => JSON.stringify(get(job, edges) ?? null),
  );

/** UUIDs from the database: nothing in them needs escaping. */
export const ids = <N extends string>(name: N, get: Get<readonly string[]>) =>
  field(
    name,
    (job, edges) => [...get(job, edges)],
    (job, edges) => {
      const list = get(job, edges);
      return list.length === 0 ? '[]' : `["${list.join('","')}"]`;
    },
  );

/**
 * An object of fields, in their order: as an object, and as JSON written straight from the job with
 * no object in between (and no generic serializer's walk over one).
 */
export function object<const F extends readonly ResponseField[]>(fields: F): { value: Get<ObjectOf<F>>; json: Get<string> } {
  const heads = fields.map((f, i) => (i === 0 ? '{' : ',') + f.key);
  return {
    value: (job, edges) => {
      const out: Record<string, unknown> = {};
      for (const f of fields) out[f.name] = f.value(job, edges);
      return out as ObjectOf<F>;
    },
    json: (job, edges) => {
      let out = '';
      for (let i = 0; i < fields.length; i++) out += heads[i]! + fields[i]!.json(job, edges);
      return fields.length === 0 ? '{}' : `${out}}`;
    },
  };
}

/** A field that is an object of fields. */
export const nested = <N extends string, const F extends readonly ResponseField[]>(name: N, fields: F) => {
  const inner = object(fields);
  return field(name, inner.value, inner.json);
};
