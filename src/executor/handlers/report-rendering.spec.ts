import { describe, expect, it } from '@jest/globals';
import type { DependencyResult } from '../job-handler.decorator.js';
import { buildReportView, detailsOf, humanize, markdownText, renderHtml, renderMarkdown } from './report-rendering.js';

const dep = (id: string, type: string, result: unknown, ref: string | null = null): DependencyResult => ({ id, ref, type, result });
const deps = [
  dep('f1', 'data_fetch', { status: 200, url: 'http://x.test/users', body: [{ id: 1, name: '<script>alert(1)</script>' }, { id: 2, name: 'a|b' }] }, 'fetch'),
  dep('p1', 'data_processing', { records: [{ team: 'core', count: 2 }], columns: ['count', 'team'], count: 1 }),
  dep('e1', 'data_export', { path: '/exports/users.csv', format: 'csv', rows: 2, bytes: 40, sha256: 'ab'.repeat(32) }),
  dep('n1', 'noop', { ok: true }),
];
const input = { reportType: 'daily_summary', date: '2024-01-15', jobId: 'R', generatedAt: new Date('2024-01-16T00:00:00Z'), dependencies: deps };

describe(humanize.name, () => {
  it.each([
    ['daily_summary', 'Daily summary'],
    ['x', 'X'],
  ])('%s -> %s', (type, title) => {
    expect(humanize(type)).toBe(title);
  });
});

describe(markdownText.name, () => {
  it.each([
    ['plain words', 'plain words'],
    ['a|b', 'a\\|b'],
    ['<b>*x*</b>', '\\<b\\>\\*x\\*\\</b\\>'],
    ['line\nbreak', 'line break'],
    ['&amp; `code` [l](u) ~~s~~ _e_ \\', '\\&amp; \\`code\\` \\[l\\](u) \\~\\~s\\~\\~ \\_e\\_ \\\\'],
    [null, ''],
  ])('%j -> %j', (text, escaped) => {
    expect(markdownText(text)).toBe(escaped);
  });
});

describe(detailsOf.name, () => {
  it.each([
    [{ status: 200, body: [1], url: 'u' }, 'status: 200, url: u'],
    [[1, 2], 'array of 2'],
    [null, ''],
    ['text', 'text'],
  ])('%j -> %j', (result, details) => {
    expect(detailsOf(result)).toBe(details);
  });
});

describe(buildReportView.name, () => {
  it('counts dependencies, records and files, and samples the record lists', () => {
    const view = buildReportView(input);
    expect(view.title).toBe('Daily summary — 2024-01-15');
    expect(view.totals).toEqual({ dependencies: 4, with_records: 2, records: 3, exports: 1 });
    expect(view.dependencies.map((d) => [d.label, d.records])).toEqual([['fetch', 2], ['p1', 1], ['e1', null], ['n1', null]]);
    expect(view.exports).toEqual([{ path: '/exports/users.csv', type: 'data_export', job_id: 'e1', format: 'csv', rows: '2', bytes: '40', sha256: 'ab'.repeat(32) }]);
    expect(view.samples[1].columns).toEqual(['count', 'team']);
    expect(view.samples[0]).toEqual({ label: 'fetch', type: 'data_fetch', total: 2, shown: 2, columns: ['id', 'name'], rows: [['1', '<script>alert(1)</script>'], ['2', 'a|b']] });
  });

  it('keeps a given title and caps the sample at 10 rows and 8 columns', () => {
    const wide = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`c${i}`, i]));
    const view = buildReportView({ ...input, title: 'T', dependencies: [dep('x', 'noop', Array.from({ length: 25 }, () => wide))] });
    expect(view.title).toBe('T');
    expect(view.samples[0]).toMatchObject({ total: 25, shown: 10 });
    expect(view.samples[0].columns).toHaveLength(8);
  });
});

describe('report templates', () => {
  const view = buildReportView(input);

  it('renders Markdown tables with the data escaped', () => {
    const md = renderMarkdown(view);
    expect(md).toContain('# Daily summary — 2024-01-15');
    expect(md).toContain('- Records: 3');
    expect(md).toContain('| fetch | data\\_fetch | 2 | status: 200, url: http://x.test/users |');
    expect(md).toContain('| 1 | \\<script\\>alert(1)\\</script\\> |');
    expect(md).toContain('| 2 | a\\|b |');
    expect(md).toContain('| /exports/users.csv | data\\_export | csv | 2 | 40 |');
    expect(md).not.toContain('<script>');
  });

  it('renders HTML with every value escaped', () => {
    const html = renderHtml(view);
    expect(html).toContain('<h1>Daily summary — 2024-01-15</h1>');
    expect(html).toContain('<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>');
    expect(html).not.toContain('<script>');
    expect(html).toContain('<code>/exports/users.csv</code>');
  });

  it('says so when there is nothing to report', () => {
    const empty = buildReportView({ ...input, dependencies: [] });
    expect(renderMarkdown(empty)).toContain('No dependencies.');
    expect(renderHtml(empty)).toContain('<p>None.</p>');
  });
});
