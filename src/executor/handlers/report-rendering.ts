/** What report_generation says about its dependencies, as Markdown and HTML. Pure: no I/O. */
import Handlebars from 'handlebars';
import type { DependencyResult } from '../job-handler.decorator.js';
import { getField } from './data-processing.operations.js';
import { collectFiles, declaredColumnsOf, isPlainObject, orderColumns, recordListOf } from './dependency-results.js';
import { csvCell } from './export-format.js';

export const REPORT_LIMITS = { rows: 10, columns: 8, cell: 80, details: 6 } as const;

export interface ReportView {
  title: string;
  report_type: string;
  date: string;
  job_id: string;
  generated_at: string;
  totals: { dependencies: number; with_records: number; records: number; exports: number };
  dependencies: Array<{ label: string; id: string; type: string; records: number | null; details: string }>;
  exports: Array<{ path: string; type: string; job_id: string; format: string; rows: string; bytes: string; sha256: string }>;
  samples: Array<{ label: string; type: string; total: number; shown: number; columns: string[]; rows: string[][] }>;
}

export interface ReportInput {
  reportType: string;
  date: string;
  title?: string;
  jobId: string;
  generatedAt: Date;
  dependencies: DependencyResult[];
}

/** `daily_summary` → `Daily summary`. */
export function humanize(reportType: string): string {
  const words = reportType.replace(/_+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** Up to REPORT_LIMITS.details scalar fields of a result, as `key: value` (what a reader wants at a glance). */
export function detailsOf(result: unknown): string {
  if (!isPlainObject(result)) return Array.isArray(result) ? `array of ${result.length}` : clip(csvCell(result), REPORT_LIMITS.cell);
  return Object.entries(result)
    .filter(([, v]) => v !== null && ['string', 'number', 'boolean'].includes(typeof v))
    .slice(0, REPORT_LIMITS.details)
    .map(([k, v]) => `${k}: ${clip(String(v), 60)}`)
    .join(', ');
}

/** Whatever the result says about one of its files (data_export: format, rows, bytes, sha256). */
function fileFacts(result: unknown, path: string): Record<string, unknown> {
  if (!isPlainObject(result)) return {};
  if (result.path === path) return result;
  const entry = Array.isArray(result.files) ? result.files.find((f) => isPlainObject(f) && f.path === path) : undefined;
  return isPlainObject(entry) ? entry : {};
}

const fact = (v: unknown) => (v === undefined || v === null ? '' : String(v));

/** Counts, a table of each dependency, the files produced and the first rows of each record list. */
export function buildReportView(input: ReportInput): ReportView {
  const deps = input.dependencies;
  const label = (d: DependencyResult) => d.ref ?? d.id;
  const lists = deps.map((d) => ({ dep: d, list: recordListOf(d.result) }));
  const exports = collectFiles(deps).map((file) => {
    const facts = fileFacts(deps.find((d) => d.id === file.jobId)?.result, file.path);
    return { path: file.path, type: file.type, job_id: file.jobId, format: fact(facts.format), rows: fact(facts.rows), bytes: fact(facts.bytes), sha256: fact(facts.sha256) };
  });
  const samples = lists
    .filter((x): x is { dep: DependencyResult; list: unknown[] } => x.list !== null && x.list.length > 0)
    .map(({ dep, list }) => {
      const shown = list.slice(0, REPORT_LIMITS.rows).map((r) => (isPlainObject(r) ? r : { value: r }));
      const columns = orderColumns(declaredColumnsOf(dep.result) ?? [], shown).slice(0, REPORT_LIMITS.columns);
      return {
        label: label(dep),
        type: dep.type,
        total: list.length,
        shown: shown.length,
        columns,
        rows: shown.map((r) => columns.map((c) => clip(csvCell(getField(r, c)), REPORT_LIMITS.cell))),
      };
    });
  return {
    title: input.title ?? `${humanize(input.reportType)} — ${input.date}`,
    report_type: input.reportType,
    date: input.date,
    job_id: input.jobId,
    generated_at: input.generatedAt.toISOString(),
    totals: {
      dependencies: deps.length,
      with_records: lists.filter((x) => x.list !== null).length,
      records: lists.reduce((n, x) => n + (x.list?.length ?? 0), 0),
      exports: exports.length,
    },
    dependencies: lists.map(({ dep, list }) => ({ label: label(dep), id: dep.id, type: dep.type, records: list ? list.length : null, details: detailsOf(dep.result) })),
    exports,
    samples,
  };
}

/** Text made literal inside a Markdown line or table cell: line breaks flattened; emphasis, code, links, pipes, HTML and entities backslash-escaped. */
export function markdownText(value: unknown): string {
  return String(value ?? '')
    .replace(/\r?\n|\r/g, ' ')
    .replace(/[\\`*_[\]|<>~&]/g, '\\$&');
}

const markdown = Handlebars.create();
markdown.registerHelper('md', (value: unknown) => markdownText(value));
markdown.registerHelper('sep', (columns: string[]) => columns.map(() => '---').join(' | '));

const MARKDOWN = markdown.compile(
  `# {{md title}}

Report \`{{report_type}}\` for {{date}}, generated {{generated_at}} by job {{job_id}}.

- Dependencies: {{totals.dependencies}} ({{totals.with_records}} with records)
- Records: {{totals.records}}
- Files produced: {{totals.exports}}

## Dependencies
{{#if dependencies.length}}

| job | type | records | details |
| --- | --- | --- | --- |
{{#each dependencies}}
| {{md label}} | {{md type}} | {{#if (isNumber records)}}{{records}}{{else}}—{{/if}} | {{md details}} |
{{/each}}
{{else}}

No dependencies.
{{/if}}

## Files produced
{{#if exports.length}}

| file | by | format | rows | bytes | sha256 |
| --- | --- | --- | --- | --- | --- |
{{#each exports}}
| {{md path}} | {{md type}} | {{md format}} | {{md rows}} | {{md bytes}} | {{md sha256}} |
{{/each}}
{{else}}

None.
{{/if}}
{{#each samples}}

## First rows of {{md label}} ({{md type}}): {{shown}} of {{total}}

| {{#each columns}}{{md this}}{{#unless @last}} | {{/unless}}{{/each}} |
| {{sep columns}} |
{{#each rows}}
| {{#each this}}{{md this}}{{#unless @last}} | {{/unless}}{{/each}} |
{{/each}}
{{/each}}
`,
  { noEscape: true, strict: false },
);

// Handlebars escapes every {{value}} in HTML (its default), so data can never become markup.
const html = Handlebars.create();
const HTML = html.compile(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{title}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; font-size: 0.9rem; }
th { background: #f4f4f4; }
code { background: #f4f4f4; padding: 0 0.2rem; }
</style>
</head>
<body>
<h1>{{title}}</h1>
<p>Report <code>{{report_type}}</code> for {{date}}, generated {{generated_at}} by job <code>{{job_id}}</code>.</p>
<ul>
<li>Dependencies: {{totals.dependencies}} ({{totals.with_records}} with records)</li>
<li>Records: {{totals.records}}</li>
<li>Files produced: {{totals.exports}}</li>
</ul>
<h2>Dependencies</h2>
{{#if dependencies.length}}
<table>
<thead><tr><th>job</th><th>type</th><th>records</th><th>details</th></tr></thead>
<tbody>
{{#each dependencies}}
<tr><td><code>{{label}}</code></td><td>{{type}}</td><td>{{#if (isNumber records)}}{{records}}{{else}}—{{/if}}</td><td>{{details}}</td></tr>
{{/each}}
</tbody>
</table>
{{else}}
<p>No dependencies.</p>
{{/if}}
<h2>Files produced</h2>
{{#if exports.length}}
<table>
<thead><tr><th>file</th><th>by</th><th>format</th><th>rows</th><th>bytes</th><th>sha256</th></tr></thead>
<tbody>
{{#each exports}}
<tr><td><code>{{path}}</code></td><td>{{type}}</td><td>{{format}}</td><td>{{rows}}</td><td>{{bytes}}</td><td><code>{{sha256}}</code></td></tr>
{{/each}}
</tbody>
</table>
{{else}}
<p>None.</p>
{{/if}}
{{#each samples}}
<h2>First rows of {{label}} ({{type}}): {{shown}} of {{total}}</h2>
<table>
<thead><tr>{{#each columns}}<th>{{this}}</th>{{/each}}</tr></thead>
<tbody>
{{#each rows}}
<tr>{{#each this}}<td>{{this}}</td>{{/each}}</tr>
{{/each}}
</tbody>
</table>
{{/each}}
</body>
</html>
`);

for (const env of [markdown, html]) env.registerHelper('isNumber', (v: unknown) => typeof v === 'number');

export function renderMarkdown(view: ReportView): string {
  return MARKDOWN(view);
}

export function renderHtml(view: ReportView): string {
  return HTML(view);
}
