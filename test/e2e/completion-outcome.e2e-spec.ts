import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { JobEventBus, type JobEvent } from '../../src/events/job-event-bus.js';
import { JobTransitionsRepository } from '../../src/jobs/job-transitions.repository.js';
import { expectEventually, startTestAppWithDatabase, type TestApp } from '../support/test-app.js';

/**
 * A completion's COMMIT applied with its answer lost (the connection ended under it): the process
 * must learn that it committed. Otherwise its events are never published, and a dependent it placed
 * and started in the same transaction is never handed to the worker: the scheduler finds it lost and
 * fails it (here its only attempt) without it ever running.
 */

const ENV = { ROLE: 'all', WORKER_ID: 'solo', HEARTBEAT_INTERVAL_MS: '300', WORKER_LOST_SECONDS: '4' };
const ONCE = { max_attempts: 1 };

let app: TestApp;
let client: pg.Client;
const events: JobEvent[] = [];

beforeAll(async () => {
  ({ app, db: client } = await startTestAppWithDatabase('completion_outcome', ENV));
  app.app.get(JobEventBus).subscribe((event) => events.push(event));
});

afterAll(async () => {
  await client?.end();
  await app?.close();
});

/** From now on, the first completion transaction that completes `jobId` commits and then throws as a lost connection does. */
function loseTheAnswerTo(jobId: string): { lost: () => boolean } {
  const transitions = app.app.get(JobTransitionsRepository);
  const complete = transitions.complete.bind(transitions);
  let lost = false;
  transitions.complete = async (items, afterRelease, written) => {
    const moved = await complete(items, afterRelease, written);
    if (!lost && moved.jobs.some((j) => j.id === jobId && j.status === 'completed')) {
      lost = true;
      throw new Error('Connection terminated unexpectedly');
    }
    return moved;
  };
  return { lost: () => lost };
}

async function row(id: string): Promise<{ status: string; attempts: number; started_at: Date | null; completed_at: Date | null }> {
  const { rows } = await client.query(`SELECT status::text, attempts, started_at, completed_at FROM jobs WHERE id = $1`, [id]);
  return rows[0];
}

describe('a completion whose COMMIT went unanswered', () => {
  it('publishes what it committed and runs the dependent it started, once', async () => {
    // The dependent is started in the completion's own transaction when the scheduler has nothing else
    // to weigh at that moment; on a busy machine a pass may take it instead, so up to five chains are tried.
    for (let family = 0; family < 5; family++) {
      const batch = await app.post('/jobs/batch', {
        jobs: [
          { ref: 'a', type: 'noop', payload: { duration_ms: 300 }, retry_config: ONCE },
          { ref: 'b', type: 'noop', retry_config: ONCE, depends_on: ['a'] },
        ],
      });
      expect(batch.status).toBe(201);
      const [a, b] = batch.body.items.map((i: { id: string }) => i.id) as [string, string];
      const fault = loseTheAnswerTo(a);
      await expectEventually(async () => expect((await row(b)).status).toMatch(/^(completed|failed)$/), { timeoutMs: 20_000, intervalMs: 100 });
      expect(fault.lost()).toBe(true);
      const [first, second] = [await row(a), await row(b)];
      expect(first.status).toBe('completed');
      expect(second).toMatchObject({ status: 'completed', attempts: 1 });
      const seen = (id: string) => events.filter((e) => e.jobId === id).map((e) => e.event);
      await expectEventually(() => expect(seen(a)).toContain('job_completed'));
      await expectEventually(() => expect(seen(b)).toEqual(expect.arrayContaining(['job_ready', 'job_started', 'job_completed'])));
      expect(seen(a).filter((e) => e === 'job_completed')).toHaveLength(1);
      if (second.started_at!.getTime() === first.completed_at!.getTime()) return; // started in the completion's transaction
    }
    throw new Error('no dependent was started in its dependency\'s completion transaction in five tries');
  });
});
