import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'csv-parse/sync';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTestSpace, startTestApp, type TestApp } from '../support/test-app.js';
import { makeTempDir, removeTempDir, runToCompletion, startHttpPeer, USERS, waitForJob, type HttpPeer } from '../support/handler-peers.js';

let peer: HttpPeer;
let app: TestApp;
let exportDir: string;

beforeAll(async () => {
  peer = await startHttpPeer();
  exportDir = await makeTempDir('exports');
  app = await startTestApp(await createTestSpace('handlers_files'), { EXPORT_DIR: exportDir, DATA_FETCH_ALLOW_PRIVATE: 'true' });
});

afterAll(async () => {
  await app?.close();
  await peer?.close();
  await removeTempDir(exportDir);
});

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const fetchUsers = () => runToCompletion(app, { type: 'data_fetch', payload: { url: `${peer.url}/users` } });

describe('data_processing', () => {
  it('runs the operations over the payload records', async () => {
    const job = await runToCompletion(app, {
      type: 'data_processing',
      payload: {
        records: USERS,
        operations: [
          { op: 'filter', field: 'team', operator: 'eq', value: 'core' },
          { op: 'sort', by: 'amount', order: 'desc' },
          { op: 'select', fields: ['name', 'amount'] },
          { op: 'limit', count: 2 },
        ],
      },
    });
    expect(job.result).toEqual({
      records: [{ name: 'Ada Lovelace', amount: 30 }, { name: 'Linus', amount: 12 }],
      columns: ['name', 'amount'],
      count: 2,
      input_count: 4,
      source: 'payload',
      steps: [{ op: 'filter', rows: 3 }, { op: 'sort', rows: 3 }, { op: 'select', rows: 3 }, { op: 'limit', rows: 2 }],
    });
  });

  it('takes the records of its dependencies (a data_fetch body, a records list) and groups them', async () => {
    const fetched = await fetchUsers();
    const wrapped = await runToCompletion(app, { type: 'data_fetch', payload: { url: `${peer.url}/wrapped` } });
    const job = await runToCompletion(app, {
      type: 'data_processing',
      depends_on: [fetched.id, wrapped.id],
      payload: { operations: [{ op: 'group_by', by: 'team', aggregates: [{ fn: 'count' }, { fn: 'sum', field: 'amount', as: 'total' }, { fn: 'avg', field: 'amount' }] }] },
    });
    expect(job.result.source).toBe('dependencies');
    expect(job.result.input_count).toBe(8);
    expect(job.result.records).toEqual([
      { team: 'core', count: 6, total: 100, avg_amount: 100 / 6 },
      { team: 'navy', count: 2, total: 90, avg_amount: 45 },
    ]);
  });
});

describe('data_export', () => {
  it('writes CSV atomically under EXPORT_DIR, which parses back with csv-parse', async () => {
    const fields = ['id', 'user_id', 'name', 'team', 'amount', 'note'];
    const job = await runToCompletion(app, { type: 'data_export', payload: { format: 'csv', records: USERS, fields, filename: 'users.csv' } });
    const path = join(exportDir, 'users.csv');
    const bytes = await readFile(path);
    expect(job.result).toEqual({
      path,
      file_name: 'users.csv',
      format: 'csv',
      rows: 4,
      columns: fields,
      bytes: bytes.length,
      sha256: sha256(bytes),
      source: 'payload',
    });
    expect(parse(bytes, { columns: true })).toEqual(USERS.map((u) => Object.fromEntries(Object.entries(u).map(([k, v]) => [k, v === null ? '' : String(v)]))));
    expect((await readdir(exportDir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('with escape_formulas, writes a cell a spreadsheet would run as a formula with a leading quote', async () => {
    const records = [{ name: '=HYPERLINK("http://evil.example","click")', balance: -12.5 }];
    const job = await runToCompletion(app, { type: 'data_export', payload: { format: 'csv', records, fields: ['name', 'balance'], escape_formulas: true } });
    expect(parse(await readFile(job.result.path), { columns: true })).toEqual([{ name: `'${records[0]!.name}`, balance: '-12.5' }]);
  });

  it('orders the columns by the keys as stored (PostgreSQL jsonb: shorter keys first) when no fields are given', async () => {
    const job = await runToCompletion(app, { type: 'data_export', payload: { format: 'csv', records: [{ zeta: 1, id: 2, beta: 3 }] } });
    expect(job.result.columns).toEqual(['id', 'beta', 'zeta']);
    expect(await readFile(job.result.path, 'utf8')).toBe('id,beta,zeta\n2,3,1\n');
  });

  it.each([
    ['json', (text: string) => JSON.parse(text)],
    ['ndjson', (text: string) => text.trim().split('\n').map((line) => JSON.parse(line))],
  ])('writes %s from a dependency, keeping the fields asked for', async (format, read) => {
    const fetched = await fetchUsers();
    const job = await runToCompletion(app, { type: 'data_export', depends_on: [fetched.id], payload: { format, fields: ['id', 'name'] } });
    expect(job.result).toMatchObject({ format, rows: 4, source: 'dependencies', file_name: `export-${job.id}.${format}` });
    expect(read(await readFile(job.result.path, 'utf8'))).toEqual(USERS.map(({ id, name }) => ({ id, name })));
  });

  it('runs the seed example {user_id: 123, format: "csv"} alone: a header row, and a note on where records come from', async () => {
    const job = await runToCompletion(app, { type: 'data_export', priority: 'high', payload: { user_id: 123, format: 'csv' }, resource_requirements: { cpu_units: 2, memory_mb: 512 } });
    expect(job.result).toMatchObject({
      path: join(exportDir, `user-123-export-${job.id}.csv`),
      rows: 0,
      columns: ['user_id'],
      bytes: 8,
      source: 'none',
      user_id: 123,
      note: expect.stringMatching(/^no records to export: give them in payload\.records, or submit this job with depends_on naming a job whose result carries records/),
    });
    expect(await readFile(job.result.path, 'utf8')).toBe('user_id\n');
    const logs = (await app.get(`/jobs/${job.id}/logs`)).body.items as Array<{ level: string; message: string }>;
    expect(logs).toContainEqual(expect.objectContaining({ level: 'warn', message: job.result.note }));
  });

  it('writes an empty JSON array, with the note, when there is nothing to export', async () => {
    const job = await runToCompletion(app, { type: 'data_export', payload: { format: 'json' } });
    expect(job.result).toMatchObject({ rows: 0, source: 'none', note: expect.any(String) });
    expect(JSON.parse(await readFile(job.result.path, 'utf8'))).toEqual([]);
  });

  it('exports only the records of user_id when fed by a dependency', async () => {
    const fetched = await fetchUsers();
    const job = await runToCompletion(app, { type: 'data_export', depends_on: [fetched.id], payload: { user_id: 123, format: 'csv' } });
    expect(job.result).toMatchObject({ rows: 2, user_id: 123 });
    const csv = await readFile(job.result.path, 'utf8');
    expect(csv.split('\n')[0]).toBe('id,user_id,name,team,amount,note'); // the order of the fetched JSON
    expect(parse(csv, { columns: true }).map((r: any) => r.name)).toEqual(['Ada Lovelace', 'Linus']);
  });
});

describe('report_generation', () => {
  it('runs the seed example over two dependencies: Markdown and HTML under EXPORT_DIR', async () => {
    const [a, b] = await Promise.all([runToCompletion(app, { type: 'noop' }), runToCompletion(app, { type: 'noop' })]);
    const job = await runToCompletion(app, { type: 'report_generation', payload: { report_type: 'daily_summary', date: '2024-01-15' }, depends_on: [a.id, b.id] });
    const stem = join(exportDir, `daily_summary-2024-01-15-${job.id}`);
    expect(job.result).toMatchObject({ report_type: 'daily_summary', date: '2024-01-15', title: 'Daily summary — 2024-01-15', paths: [`${stem}.md`, `${stem}.html`], dependencies: 2, records: 0, exports: 0 });
    const md = await readFile(`${stem}.md`, 'utf8');
    expect(md).toContain('# Daily summary — 2024-01-15');
    expect(md).toContain(`| ${a.id} | noop | — | ok: true |`);
    const html = await readFile(`${stem}.html`, 'utf8');
    expect(html).toContain('<h1>Daily summary — 2024-01-15</h1>');
    for (const file of job.result.files) expect(file.sha256).toBe(sha256(await readFile(file.path)));
  });

  it('summarises fetched records and the exports produced, escaping the data in HTML', async () => {
    const fetched = await fetchUsers();
    const exported = await runToCompletion(app, { type: 'data_export', depends_on: [fetched.id], payload: { format: 'csv' } });
    const job = await runToCompletion(app, { type: 'report_generation', depends_on: [fetched.id, exported.id], payload: { report_type: 'users', title: 'Users <weekly>', format: 'html' } });
    expect(job.result.paths).toHaveLength(1);
    expect(job.result).toMatchObject({ records: 4, exports: 1, title: 'Users <weekly>' });
    const html = await readFile(job.result.paths[0], 'utf8');
    expect(html).toContain('<title>Users &lt;weekly&gt;</title>');
    expect(html).toContain('<td>&lt;b&gt;bold&lt;/b&gt;</td>');
    expect(html).not.toContain('<b>bold</b>');
    expect(html).toContain(`<code>${exported.result.path}</code>`);
    expect(html).toContain(exported.result.sha256);
  });

  it('fails when a dependency failed: the report is cancelled with DEPENDENCY_FAILED', async () => {
    const broken = await app.submit({ type: 'data_fetch', payload: { url: `${peer.url}/status/500` }, retry_config: { max_attempts: 1 } });
    const report = await app.submit({ type: 'report_generation', depends_on: [broken.id], payload: { report_type: 'daily_summary' } });
    expect(await waitForJob(app, report.id)).toMatchObject({ status: 'cancelled', error: { code: 'DEPENDENCY_FAILED' } });
  });
});
