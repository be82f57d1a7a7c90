import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { simpleParser } from 'mailparser';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createTestSpace, expectEventually, startTestApp, type TestApp } from '../support/test-app.js';
import { makeTempDir, removeTempDir, runToCompletion, startSmtpPeer, USERS, waitForJob, type SmtpPeer } from '../support/handler-peers.js';

let smtp: SmtpPeer;
let viaSmtp: TestApp;
let viaOutbox: TestApp;
const dirs: Record<string, string> = {};

beforeAll(async () => {
  smtp = await startSmtpPeer();
  for (const label of ['smtp_exports', 'outbox_exports', 'outbox']) dirs[label] = await makeTempDir(label);
  [viaSmtp, viaOutbox] = await Promise.all([
    createTestSpace('email_smtp').then((space) => startTestApp(space, { EXPORT_DIR: dirs.smtp_exports, SMTP_URL: smtp.url })),
    createTestSpace('email_outbox').then((space) => startTestApp(space, { EXPORT_DIR: dirs.outbox_exports, MAIL_OUTBOX_DIR: dirs.outbox })),
  ]);
});

afterAll(async () => {
  await Promise.all([viaSmtp?.close(), viaOutbox?.close()]);
  await smtp?.close();
  await Promise.all(Object.values(dirs).map(removeTempDir));
});

const exportJob = { type: 'data_export', payload: { format: 'csv', records: USERS, fields: ['id', 'name'], filename: 'users.csv' } };

describe('send_email over SMTP_URL', () => {
  it('delivers to a real SMTP server, with the files of its dependencies attached', async () => {
    const exported = await runToCompletion(viaSmtp, exportJob);
    const job = await runToCompletion(viaSmtp, {
      type: 'send_email',
      depends_on: [exported.id],
      payload: { to: ['ada@example.com', 'grace@example.com'], cc: ['ken@example.com'], subject: 'Users export', text: 'Here it is.', attach_dependency_files: true },
    });
    expect(job.result).toMatchObject({
      delivery: 'smtp',
      accepted: ['ada@example.com', 'grace@example.com', 'ken@example.com'],
      rejected: [],
      attachments: [{ filename: 'users.csv', path: exported.result.path, bytes: exported.result.bytes }],
    });
    const mail = await expectEventually(() => {
      const found = smtp.messages.find((m) => m.subject === 'Users export');
      if (!found) throw new Error('not received yet');
      return found;
    });
    expect(mail.envelopeTo.sort()).toEqual(['ada@example.com', 'grace@example.com', 'ken@example.com']);
    expect(mail.messageId).toBe(job.result.message_id);
    expect(mail.messageId).toBe(`<${job.id}@draconic>`); // the same on every attempt of the job
    expect(mail.text?.trim()).toBe('Here it is.');
    expect(mail.headers.get('x-draconic-job-id')).toBe(job.id);
    expect(mail.attachments).toHaveLength(1);
    expect(mail.attachments[0].filename).toBe('users.csv');
    expect(mail.attachments[0].content.equals(await readFile(exported.result.path))).toBe(true);
  });

  it('fails the attempt when the SMTP server cannot be reached', async () => {
    const space = await createTestSpace('email_down');
    const down = await startTestApp(space, { SMTP_URL: 'smtp://127.0.0.1:9' });
    try {
      const job = await down.submit({ type: 'send_email', payload: { to: 'a@example.com', subject: 's' }, retry_config: { max_attempts: 1 } });
      const done = await waitForJob(down, job.id);
      expect(done).toMatchObject({ status: 'failed', error: { code: 'HANDLER_ERROR' } });
      expect(done.error.message).toMatch(/ECONNREFUSED|connect/i);
    } finally {
      await down.close();
    }
  });
});

describe('send_email against an SMTP server that stalls after the message', () => {
  // The server takes the whole message and never answers its end. The job's timeout and a cancel both
  // end the SMTP connection at once: left open, the server could still accept the mail after the job
  // ended (and a retry send it a second time).
  let closedAt: number[] = [];
  let server: ReturnType<typeof createServer>;
  let stalled: TestApp;
  beforeAll(async () => {
    server = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.on('close', () => closedAt.push(Date.now()));
      let inData = false;
      socket.write('220 stall.test ESMTP\r\n');
      socket.on('data', (chunk) => {
        for (const line of chunk.toString('latin1').split('\r\n').filter((l) => l !== '')) {
          if (inData) {
            if (line === '.') inData = false; // the end of the message: no answer, ever
            continue;
          }
          const verb = line.slice(0, 4).toUpperCase();
          if (verb === 'EHLO' || verb === 'HELO') socket.write('250 stall.test\r\n');
          else if (verb === 'DATA') {
            inData = true;
            socket.write('354 go on\r\n');
          } else if (verb === 'QUIT') socket.end('221 bye\r\n');
          else socket.write('250 ok\r\n');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const space = await createTestSpace('email_stall');
    stalled = await startTestApp(space, { SMTP_URL: `smtp://127.0.0.1:${(server.address() as AddressInfo).port}` });
  });
  afterAll(async () => {
    await stalled?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('ends the connection when the job times out', async () => {
    closedAt = [];
    const job = await stalled.submit({ type: 'send_email', timeout_seconds: 1, payload: { to: 'a@example.com', subject: 's' }, retry_config: { max_attempts: 1 } });
    const done = await waitForJob(stalled, job.id);
    expect(done.status).toBe('timeout');
    await expectEventually(() => expect(closedAt).toHaveLength(1), { timeoutMs: 5000 });
    expect(closedAt[0]! - Date.parse(done.completed_at)).toBeLessThan(3000);
  });

  it('ends the connection when the job is cancelled', async () => {
    closedAt = [];
    const job = await stalled.submit({ type: 'send_email', payload: { to: 'a@example.com', subject: 's' }, retry_config: { max_attempts: 1 } });
    await expectEventually(async () => expect((await stalled.getJob(job.id)).status).toBe('running'));
    await new Promise((resolve) => setTimeout(resolve, 300)); // into the stalled answer
    expect((await stalled.patch(`/jobs/${job.id}/cancel`)).status).toBe(200);
    const cancelledAt = Date.now();
    await expectEventually(() => expect(closedAt).toHaveLength(1), { timeoutMs: 5000 });
    expect(closedAt[0]! - cancelledAt).toBeLessThan(3000);
  });
});

describe('send_email without SMTP_URL', () => {
  it('writes the message as <job id>.eml into MAIL_OUTBOX_DIR, attachments included', async () => {
    const exported = await runToCompletion(viaOutbox, exportJob);
    const report = await runToCompletion(viaOutbox, { type: 'report_generation', depends_on: [exported.id], payload: { report_type: 'users' } });
    const job = await runToCompletion(viaOutbox, {
      type: 'send_email',
      depends_on: [exported.id, report.id],
      payload: { to: 'ada@example.com', subject: 'Report', attach_dependency_files: true },
    });
    const path = join(dirs.outbox, `${job.id}.eml`);
    expect(job.result).toMatchObject({ delivery: 'outbox', path, accepted: ['ada@example.com'] });
    expect(await readdir(dirs.outbox)).toEqual([`${job.id}.eml`]);
    const mail = await simpleParser(await readFile(path));
    expect(mail.subject).toBe('Report');
    expect(mail.messageId).toBe(job.result.message_id);
    expect(mail.attachments.map((a) => a.filename)).toEqual(['users.csv', ...report.result.paths.map((p: string) => p.split('/').pop())]);
    expect(mail.text).toContain(`Sent by draconic job ${job.id} after 2 dependencies.`);
    expect(mail.text).toContain('- users.csv');
  });

  it('sends the html given, with no attachment when not asked', async () => {
    const job = await runToCompletion(viaOutbox, { type: 'send_email', payload: { to: 'ada@example.com', subject: 'Hi', html: '<p>Hello</p>' } });
    const mail = await simpleParser(await readFile(job.result.path));
    expect(mail.html).toContain('<p>Hello</p>');
    expect(mail.attachments).toEqual([]);
  });
});
