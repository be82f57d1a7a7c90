import { describe, expect, it } from '@jest/globals';
import type { JobErrorInfo } from '../jobs/entities/job.entity.js';
import { describeError } from './handler-error.js';
import { OutcomeRecorder } from './outcome-recorder.js';

const job = { id: 'j1', type: 'noop', attempts: 1, attemptBase: 0, maxAttempts: 3 } as never;

/**
 * JobFailureService as the database sees it: the error is serialised as the statement's parameter
 * (which throws for a BigInt or a circular object), and PostgreSQL refuses a NUL or a lone surrogate
 * in jsonb (22P05). After `giveUpAfter` calls the recorder is told the process closes, so that a
 * write retried forever still ends the test (with nothing stored).
 */
function harness({ failed = true, giveUpAfter = 6 } = {}) {
  const stored: JobErrorInfo[] = [];
  const released: string[] = [];
  let calls = 0;
  const write = async (_job: unknown, _attempt: number, _outcome: string, error: JobErrorInfo) => {
    calls += 1;
    if (calls > giveUpAfter) recorder.onApplicationShutdown();
    const text = JSON.stringify(error);
    if (/\\u0000|\\ud[89ab]/i.test(text)) throw Object.assign(new Error('unsupported Unicode escape sequence'), { code: '22P05' });
    stored.push(JSON.parse(text) as JobErrorInfo);
    return failed;
  };
  const failures = { fail: write, failAlone: write };
  const cancellations = { releaseCancelled: async (id: string) => (released.push(id), true) };
  const bus = { signal: async () => undefined };
  const recorder = new OutcomeRecorder({} as never, failures as never, cancellations as never, { id: 'w1' } as never, bus as never);
  return { recorder, stored, released, calls: () => calls };
}

describe('OutcomeRecorder.fail with an error that cannot be stored as it is', () => {
  const named = (name: unknown) => Object.assign(new Error('boom'), { name });
  const circular: Record<string, unknown> = {};
  circular.self = circular;

  it.each([
    ['a BigInt name', named(10n)],
    ['a NUL in its name', named('a\u0000b')],
    ['a circular name', named(circular)],
  ])('ends the attempt as a handler error: %s', async (_what, error) => {
    const { recorder, stored } = harness();
    await recorder.fail(job, 1, 'failed', describeError(error));
    expect(stored).toEqual([expect.objectContaining({ code: 'HANDLER_ERROR', message: 'boom' })]);
  });

  it('stores the code and why, when the error given is not JSON', async () => {
    const { recorder, stored } = harness();
    await recorder.fail(job, 1, 'failed', { code: 'HANDLER_ERROR', message: 'boom', detail: 10n, retryable: false });
    expect(stored).toEqual([{ code: 'HANDLER_ERROR', message: expect.stringMatching(/^the error cannot be stored as JSON: .*BigInt/), retryable: false }]);
  });

  it('stores the code and why, when PostgreSQL refuses the error for its text', async () => {
    const { recorder, stored } = harness();
    await recorder.fail(job, 1, 'timeout', { code: 'TIMEOUT', message: 'late', note: 'x\u0000' });
    expect(stored).toEqual([{ code: 'TIMEOUT', message: 'the error cannot be stored: unsupported Unicode escape sequence' }]);
  });
});

describe('OutcomeRecorder.fail that loses the race to a cancel', () => {
  it("releases the cancelled job's resources at once, as a completion does", async () => {
    const { recorder, released } = harness({ failed: false });
    await recorder.fail(job, 1, 'failed', { code: 'HANDLER_ERROR', message: 'boom' });
    expect(released).toEqual(['j1']);
  });

  it('releases nothing when the failure was stored', async () => {
    const { recorder, released } = harness();
    await recorder.fail(job, 1, 'failed', { code: 'HANDLER_ERROR', message: 'boom' });
    expect(released).toEqual([]);
  });
});

describe('OutcomeRecorder.complete when its group commit runs out of time', () => {
  it.each([
    ['the server cancelled it (statement_timeout)', Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' })],
    ['the client gave up on it', new Error('Query read timeout')],
  ])('writes the completion in a statement of its own: %s', async (_what, overTime) => {
    const calls = { batched: 0, alone: 0 };
    const lifecycle = {
      // The batch it is gathered into releases too many dependents for the timeout, every time.
      complete: async () => {
        calls.batched += 1;
        if (calls.batched > 4) recorder.onApplicationShutdown(); // the old behaviour retries for ever: end the test
        throw overTime;
      },
      completeAlone: async () => ((calls.alone += 1), true),
    };
    const recorder = new OutcomeRecorder(lifecycle as never, {} as never, {} as never, { id: 'w1' } as never, {} as never);
    await recorder.complete(job, 1, { ok: true });
    expect(calls).toEqual({ batched: 1, alone: 1 });
  });
});
