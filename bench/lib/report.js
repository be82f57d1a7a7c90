// Benchmark report: a Markdown table on stdout plus bench/results/<timestamp>.md and .json.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, RESULTS_DIR, serviceNodeArgs } from './service.js';

/** Where and on what the benchmark ran. */
export function collectMeta(startedAt = new Date()) {
  const git = (...args) => {
    try {
      return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  const cpus = os.cpus();
  const status = git('status', '--porcelain', '--untracked-files=no');
  return {
    date: startedAt.toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpu_model: cpus[0]?.model?.trim() ?? 'unknown',
    cpu_count: cpus.length,
    total_memory_gb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    git_commit: git('rev-parse', '--short', 'HEAD'),
    git_dirty: status === null ? null : status.length > 0,
    // The service measured: another build's when BENCH_MAIN_JS is set (then git_commit is only the bench's own).
    service_main_js: process.env.BENCH_MAIN_JS ?? null,
    service_node_args: serviceNodeArgs().join(' '),
    note: 'Figures are from one shared, noisy 2-core machine that also runs PostgreSQL, Redis and the load generator: compare runs on the same machine only, not as absolute capacity.',
  };
}

export function formatValue(v) {
  if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) return '—';
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  return v.toFixed(abs >= 100 ? 0 : abs >= 10 ? 1 : 2);
}

function table(headers, rows) {
  const esc = (s) => String(s).replace(/\|/g, '\\|');
  return [
    `| ${headers.map(esc).join(' | ')} |`,
    `| ${headers.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

/** Metric names in first-seen order over all rows. */
function metricNames(rows) {
  const names = [];
  for (const row of rows) for (const k of Object.keys(row.metrics)) if (!names.includes(k)) names.push(k);
  return names;
}

/**
 * @param {object} report  {meta, options, scenarios: [{name, description, runs, rows: [{label, metrics, per_run, warnings}], warnings, error}]}
 */
export function renderMarkdown(report) {
  const { meta, options } = report;
  const out = [];
  out.push(`# draconic benchmark — ${meta.date}`, '');
  out.push(
    `- date: ${meta.date}`,
    `- node: ${meta.node} (${meta.platform})`,
    `- CPU: ${meta.cpu_model} × ${meta.cpu_count}, RAM ${meta.total_memory_gb} GB`,
    `- git commit: ${meta.git_commit ?? 'unknown'}${meta.git_dirty ? ' (with uncommitted changes)' : ''}`,
    `- service: ${meta.service_main_js ? `\`${meta.service_main_js}\` (BENCH_MAIN_JS: another build, not this commit's)` : "this commit's `dist/src/main.js`"}` +
      `, node flags: \`${meta.service_node_args || '(none)'}\``,
    `- runs per scenario: ${options.runs} (each figure is the median over the runs)` +
      (options.duration_s ? `; measured window ${options.duration_s} s after a ${options.warmup_s} s warm-up` : ''),
    `- note: ${meta.note}`,
    '',
  );
  const problems = report.scenarios.flatMap((s) => [
    ...(s.error ? [`${s.name}: FAILED: ${s.error}`] : []),
    ...(s.warnings ?? []).map((w) => `${s.name}: ${w}`),
    ...s.rows.flatMap((r) => (r.warnings ?? []).map((w) => `${s.name} / ${r.label}: ${w}`)),
  ]);
  if (problems.length > 0) {
    out.push('> **WARNING — problems during the benchmark (figures below are suspect):**', '>');
    for (const p of problems) out.push(`> - ${p}`);
    out.push('');
  }
  for (const s of report.scenarios) {
    out.push(`## ${s.name}`, '', s.description, '');
    if (s.rows.length === 0) {
      out.push('_no results_', '');
      continue;
    }
    const names = metricNames(s.rows);
    out.push(table(['', ...names], s.rows.map((r) => [r.label, ...names.map((n) => formatValue(r.metrics[n]))])), '');
    if (s.runs > 1) {
      out.push(`<details><summary>per run (${s.runs} runs)</summary>`, '');
      out.push(
        table(
          ['', ...names],
          s.rows.map((r) => [r.label, ...names.map((n) => (r.per_run[n] ?? []).map(formatValue).join(' / '))]),
        ),
        '',
        '</details>',
        '',
      );
    }
    for (const st of s.statements ?? []) {
      out.push(`<details><summary>pg_stat_statements, service ${st.service} (run ${st.run}): top ${st.rows.length} by total time</summary>`, '');
      out.push(
        table(
          ['calls', 'total ms', 'mean ms', 'rows', 'query'],
          st.rows.map((r) => [formatValue(r.calls), formatValue(r.total_ms), formatValue(r.mean_ms), formatValue(r.rows), `\`${r.query.replace(/`/g, "'")}\``]),
        ),
        '',
        '</details>',
        '',
      );
    }
  }
  return out.join('\n');
}

/** Prints the Markdown and writes `<results>/<timestamp>.md` and `.json`; returns the two paths. */
export function writeReport(report) {
  const md = renderMarkdown(report);
  process.stdout.write(`\n${md}\n`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  // ISO timestamp with ':' replaced (colons are awkward in file names on some systems).
  const base = join(RESULTS_DIR, report.meta.date.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z'));
  writeFileSync(`${base}.md`, `${md}\n`);
  writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  return { md: `${base}.md`, json: `${base}.json` };
}
