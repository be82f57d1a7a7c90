import { afterAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import { startApiProcess, stopAllProcesses } from '../support/processes.js';
import { createTestSpace } from '../support/test-app.js';

/**
 * SIGTERM while clients keep their keep-alive connections busy: the instance takes no new request (503
 * SHUTTING_DOWN, `Connection: close`), so those connections close, the HTTP server with them, and the
 * process exits. Served as usual, they kept it taking jobs, and running, for as long as they sent.
 */

afterAll(async () => {
  await stopAllProcesses();
});

interface Answer {
  status: number | string;
  code?: string;
  connection?: string;
  at: number;
}

describe('SIGTERM with busy keep-alive connections', () => {
  it('answers 503 SHUTTING_DOWN with Connection: close to what comes after it, and exits', async () => {
    const space = await createTestSpace('shutdown_keep_alive');
    const api = await startApiProcess(space, { ROLE: 'all', RATE_LIMIT_MAX: '0', SHUTDOWN_GRACE_MS: '2000' });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const post = (): Promise<Answer> =>
      new Promise((resolve) => {
        const request = http.request(
          { host: '127.0.0.1', port: api.port, method: 'POST', path: '/jobs', agent, headers: { 'content-type': 'application/json' } },
          (response) => {
            let text = '';
            response.on('data', (chunk: Buffer) => (text += chunk.toString()));
            response.on('end', () => {
              const code = (response.headers['content-type'] ?? '').includes('json') ? (JSON.parse(text) as { code?: string }).code : undefined;
              resolve({ status: response.statusCode ?? 0, code, connection: response.headers.connection, at: Date.now() });
            });
          },
        );
        request.on('error', (error: NodeJS.ErrnoException) => resolve({ status: error.code ?? 'error', at: Date.now() }));
        request.end(JSON.stringify({ type: 'noop' }));
      });

    let stopped = false;
    let signalledAt = Infinity;
    const answers: Answer[] = [];
    const loop = async () => {
      while (!stopped) {
        const answer = await post();
        answers.push(answer);
        if (typeof answer.status === 'string') await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const loops = [loop(), loop(), loop(), loop()];
    await new Promise((resolve) => setTimeout(resolve, 1000));
    signalledAt = Date.now();
    api.kill('SIGTERM');
    const exit = await api.waitForExit(15_000);
    stopped = true;
    await Promise.all(loops);
    agent.destroy();

    expect(exit.code).toBe(0);
    const after = answers.filter((a) => a.at > signalledAt + 500);
    const refused = after.filter((a) => a.status === 503);
    expect(refused.length).toBeGreaterThan(0);
    for (const answer of refused) expect(answer).toMatchObject({ code: 'SHUTTING_DOWN', connection: 'close' });
    // Half a second after the signal, nothing is taken any more: refused, or the connection refused.
    expect(after.filter((a) => a.status === 201)).toEqual([]);
  }, 60_000);
});
