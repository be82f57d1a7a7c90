// Helpers shared by scenarios: a clock-stamped feed of a service's job events, and its job counts.
import { Redis } from 'ioredis';

/**
 * Subscribes to the service's event channel on Redis (messages carry arrays of events) and stamps each event with performance.now()
 * on arrival. Both ends of a latency measured from two stamps of this feed travel the same path,
 * so the delivery delay cancels out.
 */
export async function eventFeed(service) {
  const redis = new Redis(service.redisUrl);
  const listeners = new Set();
  // The service names its channels with the Redis database index, unless it is 0 (RedisConnections.channel).
  const db = Number(redis.options.db ?? 0);
  await redis.subscribe(`${service.redisPrefix}${db === 0 ? '' : `:db${db}`}:job-events`);
  redis.on('message', (_channel, raw) => {
    const at = performance.now();
    const { message } = JSON.parse(raw);
    for (const event of message) for (const listener of listeners) listener(event, at);
  });
  return {
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: () => redis.disconnect(),
  };
}

/** Jobs by status, read from GET /metrics (works for embedded services too). */
export async function jobCounts(service) {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const counts = {};
  for (const m of text.matchAll(/^draconic_jobs\{status="(\w+)"\} (\d+)/gm)) counts[m[1]] = Number(m[2]);
  return counts;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** POST JSON, failing loudly on a non-2xx answer. */
export async function postJson(service, path, body) {
  const res = await fetch(`${service.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json().catch(() => null);
  if (res.status >= 300) throw new Error(`POST ${path} answered ${res.status}: ${JSON.stringify(json).slice(0, 500)}`);
  return json;
}
