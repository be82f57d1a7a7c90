import type { Redis } from 'ioredis';

/** Glob metacharacters of SCAN's MATCH, escaped. */
const escapeGlob = (text: string) => text.replace(/[*?[\]\\^]/g, (c) => `\\${c}`);

/**
 * Whether `key` is one of the Bull queue `queueName`'s keys (`<prefix>:<queue>:<what>`): `<what>` is
 * one of Bull's key names (`wait`, `active`, `stalled-check`, ...) or a job's key (`<job id>`,
 * `<job id>:lock`, `<job id>:logs`, where draconic's job ids are `<uuid>:<attempt>`, or
 * `<uuid>:<attempt>:again-<time>` for a copy handed over again past an active one). Queue names
 * may contain `:` (`worker:a` beside `worker:a:b`), so the keys of `worker:a:b` are not `worker:a`'s. Pure.
 */
export function isQueueKey(key: string, prefix: string, queueName: string): boolean {
  const head = `${prefix}:${queueName}:`;
  if (!key.startsWith(head)) return false;
  const what = key.slice(head.length);
  return /^[^:]+$/.test(what) || /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:\d+(:again-[0-9a-z]+)?(:lock|:logs)?$/.test(what);
}

/**
 * Deletes every key of one Bull queue: a SCAN over this queue's key prefix only (never KEYS, never
 * another prefix), each batch unlinked as found. Returns how many keys went.
 */
export async function deleteQueueKeys(redis: Redis, prefix: string, queueName: string): Promise<number> {
  const match = `${escapeGlob(`${prefix}:${queueName}:`)}*`;
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    cursor = next;
    const mine = keys.filter((key) => isQueueKey(key, prefix, queueName));
    if (mine.length > 0) deleted += await redis.unlink(...mine);
  } while (cursor !== '0');
  return deleted;
}
