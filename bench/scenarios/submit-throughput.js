// POST /jobs throughput and latency against one `all` service, at several connection counts.
import autocannon from 'autocannon';

const CONNECTIONS = [1, 16, 64];
const BODY = JSON.stringify({ type: 'noop', payload: { duration_ms: 0 } });

function load(url, connections, durationS) {
  return autocannon({
    url: `${url}/jobs`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: BODY,
    connections,
    duration: durationS,
    timeout: 10, // seconds; a timeout counts as an error
  });
}

export default {
  name: 'submit-throughput',
  description:
    'One `ROLE=all` service (fresh database per run). autocannon sends `POST /jobs` `{"type":"noop","payload":{"duration_ms":0}}` ' +
    'with 1, 16 and 64 concurrent connections (one after the other, same service), each for a fixed window after a warm-up. ' +
    'req/s is the mean of the per-second samples; p50/p99 are latencies of 2xx responses; non-2xx and errors (incl. timeouts) must be 0.',

  async run(ctx) {
    const service = await ctx.startService({ label: `submit-throughput-run${ctx.run}` });
    const rows = [];
    try {
      // Sanity check: one submit must answer 201 with a job.
      const res = await fetch(`${service.url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY });
      const job = await res.json().catch(() => null);
      if (res.status !== 201 || typeof job?.id !== 'string') {
        throw new Error(`sanity POST /jobs answered ${res.status} ${JSON.stringify(job)} (expected 201 with a job)`);
      }
      for (const connections of CONNECTIONS) {
        ctx.log(`${connections} connection(s): warm-up ${ctx.warmupS} s, then ${ctx.durationS} s`);
        const warm = await load(service.url, connections, ctx.warmupS);
        const r = await load(service.url, connections, ctx.durationS);
        const warnings = [];
        if (warm.non2xx > 0 || warm.errors > 0) {
          warnings.push(`warm-up: ${warm.non2xx} non-2xx, ${warm.errors} errors (status codes ${JSON.stringify(warm.statusCodeStats)})`);
        }
        if (r.non2xx > 0) warnings.push(`${r.non2xx} non-2xx responses (status codes ${JSON.stringify(r.statusCodeStats)})`);
        if (r.errors > 0) warnings.push(`${r.errors} errors (${r.timeouts} of them timeouts)`);
        rows.push({
          label: `${connections} conn`,
          metrics: {
            'req/s': r.requests.average,
            'p50 ms': r.latency.p50,
            'p99 ms': r.latency.p99,
            'non-2xx': r.non2xx,
            errors: r.errors,
          },
          warnings,
          raw: {
            requests_total: r.requests.total,
            requests_sent: r.requests.sent,
            latency_mean_ms: r.latency.average,
            latency_max_ms: r.latency.max,
            status_codes: r.statusCodeStats,
            timeouts: r.timeouts,
            resets: r.resets,
            duration_s: r.duration,
          },
        });
      }
    } finally {
      await ctx.stopService(service);
    }
    return rows;
  },
};
