#!/usr/bin/env node
// Benchmark orchestrator: `node bench/run.js [scenario-name ...] [--runs N]` (see bench/README.md).
// Runs each scenario N times, takes the median of every figure and writes the report.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { collectMeta, writeReport } from './lib/report.js';
import { startService, stopAllServices } from './lib/service.js';
import { median } from './lib/stats.js';

const SCENARIOS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'scenarios');

function usage(available) {
  return [
    'usage: node bench/run.js [scenario-name ...] [--runs N] [--minutes M]',
    '  no name: run every scenario; --runs N: repeat each N times and report medians (default 3;',
    '  a scenario that says how many runs it makes, like soak, keeps its own)',
    '  --minutes M: how long the soak lasts (default 30)',
    '  env: BENCH_DURATION_S (measured window, default 10), BENCH_WARMUP_S (default 2)',
    `scenarios: ${available.join(', ')}`,
  ].join('\n');
}

function positiveNumber(name, raw, fallback, { integer = false } = {}) {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new Error(`${name} must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

async function loadScenarios() {
  const files = readdirSync(SCENARIOS_DIR).filter((f) => f.endsWith('.js')).sort();
  const scenarios = [];
  for (const f of files) {
    const mod = await import(pathToFileURL(join(SCENARIOS_DIR, f)).href);
    const s = mod.default ?? mod;
    if (typeof s.name !== 'string' || typeof s.run !== 'function') {
      throw new Error(`bench/scenarios/${f} must export { name, description, run(ctx) }`);
    }
    scenarios.push(s);
  }
  return scenarios;
}

function parseArgs(argv) {
  const names = [];
  let runs;
  let minutes;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') help = true;
    else if (a === '--runs') runs = argv[++i];
    else if (a.startsWith('--runs=')) runs = a.slice('--runs='.length);
    else if (a === '--minutes') minutes = argv[++i];
    else if (a.startsWith('--minutes=')) minutes = a.slice('--minutes='.length);
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else names.push(a);
  }
  return {
    names,
    runs: positiveNumber('--runs', runs, 3, { integer: true }),
    minutes: minutes === undefined ? undefined : positiveNumber('--minutes', minutes, undefined),
    help,
  };
}

/** Medians across runs, per row label and metric (labels in first-seen order). */
function aggregate(runResults) {
  const byLabel = new Map();
  runResults.forEach((rows, runIndex) => {
    for (const row of rows) {
      if (!byLabel.has(row.label)) byLabel.set(row.label, { label: row.label, per_run: {}, warnings: [], raw: [] });
      const agg = byLabel.get(row.label);
      for (const [k, v] of Object.entries(row.metrics)) (agg.per_run[k] ??= []).push(v);
      for (const w of row.warnings ?? []) agg.warnings.push(runResults.length > 1 ? `run ${runIndex + 1}: ${w}` : w);
      agg.raw.push(row.raw ?? null);
    }
  });
  return [...byLabel.values()].map((agg) => ({
    label: agg.label,
    metrics: Object.fromEntries(Object.entries(agg.per_run).map(([k, vs]) => [k, median(vs)])),
    per_run: agg.per_run,
    warnings: agg.warnings,
    raw: agg.raw,
  }));
}

async function main() {
  const available = await loadScenarios();
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    console.log(usage(available.map((s) => s.name)));
    return 0;
  }
  const unknown = args.names.filter((n) => !available.some((s) => s.name === n));
  if (unknown.length > 0) throw new Error(`unknown scenario(s) ${unknown.join(', ')}\n${usage(available.map((s) => s.name))}`);
  const selected = args.names.length === 0 ? available : available.filter((s) => args.names.includes(s.name));
  const durationS = positiveNumber('BENCH_DURATION_S', process.env.BENCH_DURATION_S, 10);
  const warmupS = positiveNumber('BENCH_WARMUP_S', process.env.BENCH_WARMUP_S, 2);

  const startedAt = new Date();
  const report = {
    meta: collectMeta(startedAt),
    options: { runs: args.runs, duration_s: durationS, warmup_s: warmupS, minutes: args.minutes, scenarios: selected.map((s) => s.name) },
    scenarios: [],
  };

  for (const scenario of selected) {
    // A scenario may fix its number of runs (a 30-minute soak is run once).
    const runs = scenario.runs ?? args.runs;
    const result = { name: scenario.name, description: scenario.description ?? '', runs, rows: [], warnings: [], error: null, statements: [] };
    report.scenarios.push(result);
    const runResults = [];
    for (let run = 1; run <= runs; run++) {
      const log = (msg) => console.error(`[bench] ${scenario.name} run ${run}/${runs}: ${msg}`);
      const ctx = {
        run,
        runs,
        durationS,
        warmupS,
        /** --minutes, when given (the soak's length). */
        minutes: args.minutes,
        log,
        /** Starts a fresh service (own database and Redis prefix); see lib/service.js. */
        async startService(opts = {}) {
          const t0 = Date.now();
          const s = await startService({ label: `${scenario.name}-run${run}`, ...opts });
          log(`service ${s.role} up in ${((Date.now() - t0) / 1000).toFixed(1)} s: pid ${s.pid}, ${s.url}, db ${s.dbName}, redis prefix ${s.redisPrefix}, log ${s.logFile}`);
          return s;
        },
        /** Stops a service and checks that its database and Redis keys are gone. */
        async stopService(s) {
          const t0 = Date.now();
          const c = await s.stop();
          log(`service stopped in ${((Date.now() - t0) / 1000).toFixed(1)} s (${c.how}); database dropped: ${c.databaseDropped}; redis keys deleted: ${c.redisKeysDeleted}, left: ${c.redisKeysLeft}`);
          if (!c.databaseDropped || c.redisKeysLeft !== 0 || c.errors.length > 0) {
            result.warnings.push(`run ${run}: cleanup incomplete for ${s.dbName} / ${s.redisPrefix}: ${JSON.stringify(c)}`);
          }
          if (c.how.startsWith('SIGKILL')) result.warnings.push(`run ${run}: service needed ${c.how}`);
          if (c.statements?.error) result.warnings.push(`run ${run}: ${c.statements.error}`);
          if (c.statements?.rows) result.statements.push({ service: s.label, run, rows: c.statements.rows });
          return c;
        },
      };
      try {
        log('start');
        const rows = await scenario.run(ctx);
        runResults.push(rows);
        for (const row of rows) {
          for (const w of row.warnings ?? []) console.error(`[bench] !!! ${scenario.name} run ${run} ${row.label}: ${w}`);
        }
      } catch (e) {
        result.error = `run ${run}: ${e.stack ?? e.message}`;
        console.error(`[bench] !!! ${scenario.name} run ${run} FAILED: ${e.stack ?? e.message}`);
        break;
      } finally {
        await stopAllServices(); // anything the scenario forgot
      }
    }
    result.rows = aggregate(runResults);
    result.completed_runs = runResults.length;
  }

  report.finished_at = new Date().toISOString();
  const paths = writeReport(report);
  console.error(`[bench] wrote ${paths.md} and ${paths.json}`);
  const failed = report.scenarios.some((s) => s.error || s.warnings.length > 0 || s.rows.some((r) => r.warnings.length > 0));
  if (failed) console.error('[bench] !!! there were problems: see the WARNING block in the report');
  return failed ? 1 : 0;
}

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    console.error(`[bench] ${sig}: stopping services and cleaning up…`);
    void stopAllServices().finally(() => process.exit(130));
  });
}

main().then(
  async (code) => {
    await stopAllServices();
    process.exitCode = code;
  },
  async (e) => {
    console.error(`[bench] ${e.stack ?? e.message}`);
    await stopAllServices();
    process.exitCode = 1;
  },
);
