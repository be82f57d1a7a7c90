import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'csv-parse/sync';
import { readFile } from 'node:fs/promises';
import { createTestSpace, expectEventually, startTestApp, type TestApp } from '../support/test-app.js';
import { makeTempDir, removeTempDir, startHttpPeer, startSmtpPeer, waitForJob, type HttpPeer, type SmtpPeer } from '../support/handler-peers.js';

let peer: HttpPeer;
let smtp: SmtpPeer;
let app: TestApp;
let exportDir: string;

beforeAll(async () => {
  [peer, smtp, exportDir] = await Promise.all([startHttpPeer(), startSmtpPeer(), makeTempDir('pipeline')]);
  app = await startTestApp(await createTestSpace('pipeline'), { EXPORT_DIR: exportDir, SMTP_URL: smtp.url, DATA_FETCH_ALLOW_PRIVATE: 'true' });
});

afterAll(async () => {
  await app?.close();
  await Promise.all([peer?.close(), smtp?.close()]);
  await removeTempDir(exportDir);
});

describe('the built-in pipeline: fetch -> process -> export + report -> email', () => {
  it('runs end to end from single submits chained with depends_on (the README example)', async () => {
    // Submitted all at once: each job waits (blocked) for the ones it depends on.
    const fetch = await app.submit({ type: 'data_fetch', payload: { url: `${peer.url}/users`, timeout_ms: 5000 } });
    const totals = await app.submit({
      type: 'data_processing',
      depends_on: [fetch.id],
      payload: {
        operations: [
          { op: 'filter', field: 'amount', operator: 'gte', value: 10 },
          { op: 'group_by', by: 'team', aggregates: [{ fn: 'count', as: 'people' }, { fn: 'sum', field: 'amount', as: 'total' }] },
          { op: 'sort', by: 'total', order: 'desc' },
        ],
      },
    });
    const exported = await app.submit({ type: 'data_export', depends_on: [totals.id], payload: { format: 'csv', filename: 'team-totals.csv' } });
    const report = await app.submit({ type: 'report_generation', depends_on: [totals.id, exported.id], payload: { report_type: 'team_totals', date: '2024-01-15' } });
    const mail = await app.submit({
      type: 'send_email',
      depends_on: [exported.id, report.id],
      payload: { to: 'ops@example.com', subject: 'Team totals 2024-01-15', attach_dependency_files: true },
    });
    expect(mail.status).toBe('blocked');

    const done = await waitForJob(app, mail.id);
    expect(done.status).toBe('completed');
    const processed = await app.getJob(totals.id);
    expect(processed.result.records).toEqual([
      { team: 'navy', people: 1, total: 45 },
      { team: 'core', people: 2, total: 42 },
    ]);
    // It reported its progress after each of its three operations, each a log row of its running attempt.
    const progress = (await app.get(`/jobs/${totals.id}/logs`)).body.items.filter((l: { message: string }) => l.message.startsWith('progress '));
    expect(progress.map((l: { message: string; attempt: number }) => [Math.round(parseFloat(l.message.slice('progress '.length))), l.attempt])).toEqual([
      [33, 1],
      [67, 1],
      [100, 1],
    ]);
    const csv = (await app.getJob(exported.id)).result;
    expect((await readFile(csv.path, 'utf8')).split('\n')[0]).toBe('team,people,total'); // the order data_processing declared
    expect(parse(await readFile(csv.path), { columns: true })).toEqual([
      { team: 'navy', people: '1', total: '45' },
      { team: 'core', people: '2', total: '42' },
    ]);
    const reported = (await app.getJob(report.id)).result;
    expect(reported).toMatchObject({ dependencies: 2, records: 2, exports: 1 });
    const markdown = await readFile(reported.paths[0], 'utf8');
    expect(markdown).toContain('| team | people | total |');
    expect(markdown).toContain('| navy | 1 | 45 |');

    const received = await expectEventually(() => {
      const found = smtp.messages.find((m) => m.subject === 'Team totals 2024-01-15');
      if (!found) throw new Error('not received yet');
      return found;
    });
    expect(received.envelopeTo).toEqual(['ops@example.com']);
    expect(received.attachments.map((a) => a.filename)).toEqual(['team-totals.csv', `team_totals-2024-01-15-${report.id}.md`, `team_totals-2024-01-15-${report.id}.html`]);
    expect(received.attachments[0].content.equals(await readFile(csv.path))).toBe(true);
    expect(done.result.attachments).toHaveLength(3);
  });
});
