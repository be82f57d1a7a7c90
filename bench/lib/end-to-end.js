// End-to-end figures shared by scenarios: noop jobs from batch submit to completed, and pickup latency
// (created -> started) of single submits 10 ms apart. `keyOf(i)` gives job i a concurrency_key (or none).
import { eventFeed, jobCounts, postJson, sleep } from './events.js';
import { percentile } from './stats.js';

/**
 * `completed` is the number of job_completed events seen. `stored` (the growth of the completed count in
 * /metrics) cross-checks it against PostgreSQL; pass `crossCheck: false` where retention deletes completed
 * jobs meanwhile, which makes that growth meaningless.
 */
export async function throughput(service, label, { jobs: JOBS, keyOf = () => undefined, crossCheck = true }) {
  const before = (await jobCounts(service)).completed ?? 0;
  const feed = await eventFeed(service);
  let completed = 0;
  let doneAt = null;
  let resolve;
  const done = new Promise((r) => (resolve = r));
  const off = feed.on((event, at) => {
    if (event.event === 'job_completed' && ++completed === JOBS) {
      doneAt = at;
      resolve();
    }
  });
  const timeout = setTimeout(resolve, 300_000);
  const started = performance.now();
  const batches = Array.from({ length: Math.ceil(JOBS / 1000) }, (_, i) => Math.min(1000, JOBS - i * 1000));
  let next = 0;
  let n = 0;
  const body = (size) => ({ jobs: Array.from({ length: size }, () => withKey({ type: 'noop' }, keyOf(n++))) });
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < batches.length) await postJson(service, '/jobs/batch', body(batches[next++]));
    }),
  );
  await done;
  clearTimeout(timeout);
  off();
  feed.close();
  const wallS = ((doneAt ?? performance.now()) - started) / 1000;
  const counted = ((await jobCounts(service)).completed ?? 0) - before;
  return {
    label,
    metrics: { 'jobs/s': completed / wallS, 'wall s': wallS, completed, ...(crossCheck ? { stored: counted } : {}) },
    warnings: completed < JOBS ? [`only ${completed}/${JOBS} completed before the deadline`] : [],
  };
}

export async function pickup(service, label, { jobs, keyOf = () => undefined }) {
  const [row] = await pickupByGroup(service, { all: label }, { jobs, keyOf, groupOf: () => 'all' });
  return row;
}

/**
 * Pickup latency of single submits 10 ms apart, reported per group: job i belongs to `groupOf(i)` (called
 * just before its submit), and `labels` names each group's row. Interleaved groups are measured under the
 * same conditions (the same moment of the process's life, the same table), which two pickups one after the
 * other are not. With `totalLabel`, a first row covers every job of every group.
 */
export async function pickupByGroup(service, labels, { jobs: PICKUP_JOBS, keyOf = () => undefined, groupOf, totalLabel }) {
  const feed = await eventFeed(service);
  const created = new Map();
  const started = new Map();
  // Only the jobs submitted here count: other work may run beside them (e.g. schedules firing).
  const mine = new Map();
  const latencies = new Map(Object.keys(labels).map((g) => [g, []]));
  const submitted = new Map(Object.keys(labels).map((g) => [g, 0]));
  let measured = 0;
  const measure = (id) => {
    if (mine.has(id) && created.has(id) && started.has(id)) {
      latencies.get(mine.get(id)).push(started.get(id) - created.get(id));
      mine.delete(id);
      measured += 1;
    }
  };
  feed.on((message, at) => {
    if (message.event === 'job_created') created.set(message.jobId, at);
    if (message.event === 'job_started') started.set(message.jobId, at);
    measure(message.jobId);
  });
  try {
    for (let i = 0; i < PICKUP_JOBS; i++) {
      const group = groupOf(i);
      const job = await postJson(service, '/jobs', withKey({ type: 'noop' }, keyOf(i)));
      mine.set(job.id, group);
      submitted.set(group, submitted.get(group) + 1);
      measure(job.id);
      await sleep(10);
    }
    const deadline = Date.now() + 30_000;
    while (measured < PICKUP_JOBS && Date.now() < deadline) await sleep(50);
    const row = (label, list, expected) => ({
      label,
      metrics: { 'p50 ms': percentile(list, 50), 'p99 ms': percentile(list, 99), 'max ms': Math.max(...list), measured: list.length },
      warnings: list.length < expected ? [`only ${list.length}/${expected} started`] : [],
    });
    const rows = Object.entries(labels).map(([group, label]) => row(label, latencies.get(group), submitted.get(group)));
    return totalLabel === undefined ? rows : [row(totalLabel, [...latencies.values()].flat(), PICKUP_JOBS), ...rows];
  } finally {
    feed.close();
  }
}

function withKey(job, key) {
  return key === undefined ? job : { ...job, concurrency_key: key };
}
