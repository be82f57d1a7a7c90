// What the queue rules cost (docs/queues.md): the same noop jobs end to end (batch submit -> completed) and
// the same pickup latency, plain and with 100 distinct concurrency keys under a key_concurrency_limit,
// in one `ROLE=all` process, in the same run.
import { pickup, pickupByGroup, throughput } from '../lib/end-to-end.js';

const JOBS = Number(process.env.BENCH_FLOW_JOBS ?? 10_000);
const PICKUP_JOBS = Number(process.env.BENCH_PICKUP_JOBS ?? 300);
const KEYS = 100;
/** 100 keys x 5 = the worker's 500 slots: the key limit is checked on every placement without starving the worker. */
const KEY_LIMIT = 5;
const WORKER_ENV = { MAX_CONCURRENT_JOBS: '500', MAX_CPU_UNITS: '500', MAX_MEMORY_MB: '1000000', DB_POOL_SIZE: '20' };

async function patchJson(service, path, body) {
  const res = await fetch(`${service.url}${path}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`PATCH ${path} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
}

/** The keyed row's figure over the plain row's, measured beside it. */
function versus(row, plain, metric) {
  row.metrics['vs plain'] = row.metrics[metric] / plain.metrics[metric];
  return row;
}

export default {
  name: 'flow-control',
  description:
    `Noop jobs end to end (batches of 1,000, 4 in flight) and pickup latency (${PICKUP_JOBS} jobs 10 ms apart), plain and with ` +
    `${KEYS} concurrency keys under key_concurrency_limit ${KEY_LIMIT}, one ROLE=all process; then ${2 * PICKUP_JOBS} pickups alternating plain and keyed; "vs plain" is keyed / plain.`,
  async run(ctx) {
    const service = await ctx.startService({ env: WORKER_ENV });
    const rows = [];
    try {
      const plain = await throughput(service, `${JOBS} noop, plain`, { jobs: JOBS });
      rows.push(plain);
      const plainPickup = await pickup(service, 'pickup, plain', { jobs: PICKUP_JOBS });
      rows.push(plainPickup);
      await patchJson(service, '/queues/noop', { key_concurrency_limit: KEY_LIMIT });
      rows.push(versus(await throughput(service, `${JOBS} noop, ${KEYS} keys, key limit ${KEY_LIMIT}`, { jobs: JOBS, keyOf: (i) => `k${i % KEYS}` }), plain, 'jobs/s'));
      rows.push(versus(await pickup(service, `pickup, ${KEYS} keys, key limit ${KEY_LIMIT}`, { jobs: PICKUP_JOBS, keyOf: (i) => `k${i % KEYS}` }), plainPickup, 'p99 ms'));
      // The two pickups above run one after the other, the keyed one on a process and a table 10,000 jobs
      // older; interleaving plain and keyed submits measures both under the same conditions.
      const [mixedPlain, mixedKeyed] = await pickupByGroup(
        service,
        { plain: 'pickup interleaved, plain', keyed: `pickup interleaved, ${KEYS} keys, key limit ${KEY_LIMIT}` },
        { jobs: 2 * PICKUP_JOBS, keyOf: (i) => (i % 2 === 1 ? `k${(i >> 1) % KEYS}` : undefined), groupOf: (i) => (i % 2 === 1 ? 'keyed' : 'plain') },
      );
      rows.push(mixedPlain, versus(mixedKeyed, mixedPlain, 'p99 ms'));
    } finally {
      await ctx.stopService(service);
    }
    return rows;
  },
};
