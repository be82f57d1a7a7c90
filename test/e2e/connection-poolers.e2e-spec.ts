import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startApiProcess, stopAllProcesses } from '../support/processes.js';
import { createTestSpace, type TestSpace } from '../support/test-app.js';

/**
 * draconic behind PgBouncer (Debian's package, installed by .ci/run): a pooler in transaction mode, or
 * one refusing the session settings sent at connect, stops the boot with a line saying what to change;
 * in session mode with those settings ignored it runs, and warns that the timeouts must be set on the role.
 */

const PGBOUNCER = '/usr/sbin/pgbouncer';
let space: TestSpace;
let dir: string;
const bouncers: ChildProcess[] = [];

beforeAll(async () => {
  if (!existsSync(PGBOUNCER)) throw new Error(`${PGBOUNCER} is missing: install Debian's pgbouncer package (.ci/run does)`);
  space = await createTestSpace('poolers');
  dir = mkdtempSync(join(tmpdir(), 'draconic-pgbouncer-'));
  chmodSync(dir, 0o777); // PgBouncer refuses to run as root: it drops to the postgres user and writes here
});

afterAll(async () => {
  await stopAllProcesses();
  for (const bouncer of bouncers) bouncer.kill('SIGKILL');
});

/** A PgBouncer in front of the test database's server, with `settings`; resolves with DATABASE_URL through it. */
async function pgbouncer(name: string, settings: string): Promise<string> {
  const target = new URL(space.databaseUrl);
  const port = await freePort();
  const ini = join(dir, `${name}.ini`);
  writeFileSync(join(dir, 'users.txt'), `"${decodeURIComponent(target.username)}" ""\n`);
  writeFileSync(
    ini,
    `[databases]\n* = host=${target.hostname} port=${target.port || 5432}\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = ${port}\n` +
      `unix_socket_dir =\nauth_type = trust\nauth_file = ${join(dir, 'users.txt')}\nlogfile = ${join(dir, `${name}.log`)}\n${settings}\n`,
  );
  chmodSync(ini, 0o644);
  chmodSync(join(dir, 'users.txt'), 0o644);
  const asRoot = process.getuid?.() === 0;
  const bouncer = spawn(PGBOUNCER, [...(asRoot ? ['-u', 'postgres'] : []), ini], { stdio: 'ignore' });
  bouncers.push(bouncer);
  for (let i = 0; ; i++) {
    const listening = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => (socket.end(), resolve(true)));
      socket.on('error', () => resolve(false));
    });
    if (listening) break;
    if (i > 50) throw new Error(`PgBouncer (${name}) did not listen on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const url = new URL(space.databaseUrl);
  url.port = String(port);
  return url.toString();
}

describe('draconic behind PgBouncer', () => {
  it('stops the boot in transaction pooling mode, saying so', async () => {
    const url = await pgbouncer('transaction', 'pool_mode = transaction\nignore_startup_parameters = options');
    await expect(startApiProcess(space, { ROLE: 'all', DATABASE_URL: url })).rejects.toThrow(/pooler in transaction or statement mode/);
  }, 40_000);

  it('stops the boot when the pooler refuses the session settings, naming the setting to change', async () => {
    const url = await pgbouncer('refusing', 'pool_mode = session');
    await expect(startApiProcess(space, { ROLE: 'all', DATABASE_URL: url })).rejects.toThrow(/ignore_startup_parameters = options/);
  }, 40_000);

  it('runs in session mode, and warns that the timeouts it could not set belong on the role', async () => {
    const url = await pgbouncer('session', 'pool_mode = session\nignore_startup_parameters = options');
    const api = await startApiProcess(space, { ROLE: 'all', DATABASE_URL: url });
    expect(api.output()).toMatch(/statement_timeout is 0 although DB_QUERY_TIMEOUT_MS is/);
    const job = await api.submit({ type: 'noop' });
    for (let i = 0; i < 100 && (await api.getJob(job.id)).status !== 'completed'; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await api.getJob(job.id)).status).toBe('completed');
    await api.stop();
  }, 60_000);
});
