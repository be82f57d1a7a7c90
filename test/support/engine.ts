import { expect } from '@jest/globals';
import { Redis } from 'ioredis';
import type { ApiClient } from './processes.js';
import type { JsonResponse } from './test-app.js';
import { TEST_REDIS_URL } from './test-env.js';

/** What the engine e2e specs read back through the API. */

export interface WorkerView {
  id: string;
  status: string;
  capacity: { max_concurrent_jobs: number; max_cpu_units: number; max_memory_mb: number };
  allocated: { slots: number; cpu_units: number; memory_mb: number };
  running_jobs: string[];
  placed_jobs: string[];
  stopping_jobs: string[];
}

export interface LogLine {
  id: string;
  timestamp: string;
  level: string;
  message: string;
  attempt: number;
  data: Record<string, unknown> | null;
}

export const NOTHING_ALLOCATED = { slots: 0, cpu_units: 0, memory_mb: 0 };

/** Every worker the service still knows, whatever its status. */
export async function listWorkers(api: ApiClient): Promise<WorkerView[]> {
  const response = await api.get<{ items: WorkerView[] }>('/workers?status=active,draining,lost,stopped');
  expect(response.status).toBe(200);
  return response.body.items;
}

export async function workerView(api: ApiClient, id: string): Promise<WorkerView> {
  const worker = (await listWorkers(api)).find((w) => w.id === id);
  if (!worker) throw new Error(`worker ${id} is not in GET /workers`);
  return worker;
}

/** Every log line of a job, oldest first (all pages). */
export async function jobLogs(api: ApiClient, id: string): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  let cursor: string | null = null;
  do {
    const response: JsonResponse<{ items: LogLine[]; next_cursor: string | null }> = await api.get(
      `/jobs/${id}/logs?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    expect(response.status).toBe(200);
    lines.push(...response.body.items);
    cursor = response.body.next_cursor;
  } while (cursor);
  return lines;
}

/** When each attempt started, from the `attempt N started on worker W` log lines: attempt -> ms. */
export function attemptStarts(lines: readonly LogLine[]): Map<number, { at: number; workerId: string }> {
  const starts = new Map<number, { at: number; workerId: string }>();
  for (const line of lines) {
    const match = /^attempt (\d+) started on worker (\S+)/.exec(line.message);
    if (match) starts.set(Number(match[1]), { at: Date.parse(line.timestamp), workerId: match[2]! });
  }
  return starts;
}

/** 1 or 0: this process's `draconic_scheduler_leader` gauge. */
export async function leaderGauge(api: ApiClient): Promise<number> {
  const response = await api.get<string>('/metrics');
  expect(response.status).toBe(200);
  const match = /^draconic_scheduler_leader (\d+)/m.exec(String(response.body));
  if (!match) throw new Error('draconic_scheduler_leader is not in GET /metrics');
  return Number(match[1]);
}

/** The intervals [started_at, completed_at] of jobs, checked pairwise disjoint. */
export function expectNoOverlap(jobs: ReadonlyArray<{ id: string; started_at: string; completed_at: string }>): void {
  const spans = jobs
    .map((j) => ({ id: j.id, start: Date.parse(j.started_at), end: Date.parse(j.completed_at) }))
    .sort((a, b) => a.start - b.start);
  for (let i = 1; i < spans.length; i += 1) {
    const [before, after] = [spans[i - 1]!, spans[i]!];
    if (after.start < before.end) {
      throw new Error(`jobs ${before.id} and ${after.id} overlapped: ${JSON.stringify(spans)}`);
    }
  }
}

/** The Redis keys under `prefix:` (SCAN, never KEYS). */
export async function redisKeys(prefix: string): Promise<string[]> {
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true });
  await redis.connect();
  const found: string[] = [];
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return found;
}

/** Deletes every Redis key under `prefix:` (SCAN + DEL, never FLUSHALL: the Redis is shared). Returns the count. */
export async function deleteRedisKeys(prefix: string): Promise<number> {
  const keys = await redisKeys(prefix);
  if (keys.length === 0) return 0;
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true });
  await redis.connect();
  try {
    let deleted = 0;
    for (let i = 0; i < keys.length; i += 1000) deleted += await redis.del(...keys.slice(i, i + 1000));
    return deleted;
  } finally {
    redis.disconnect();
  }
}
