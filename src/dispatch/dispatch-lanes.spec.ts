import { describe, expect, it } from '@jest/globals';
import type Bull from 'bull';
import { BullJobDispatcher } from './bull-job-dispatcher.js';
import type { BullQueues } from './bull-queues.js';
import { InProcessJobDispatcher, InProcessQueues } from './in-process-queues.js';
import type { DispatchedJobData } from './job-dispatcher.js';
import type { StartedJob } from '../jobs/job-row.js';
import { LanedWorkerQueue } from './worker-queue.js';

/** Records what reaches Bull, by queue name, instead of talking to Redis. */
function recordingBull() {
  const added = new Map<string, string[]>();
  const closed: string[] = [];
  const bull = {
    create: (name: string) =>
      ({
        addBulk: async (jobs: Array<{ opts: { jobId: string } }>) => {
          added.set(name, [...(added.get(name) ?? []), ...jobs.map((j) => j.opts.jobId)]);
          return [];
        },
        close: async () => void closed.push(name),
      }) as unknown as Bull.Queue,
  } as unknown as BullQueues;
  return { bull, added, closed };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A lane of worker 'here' with one slot whose runs stay busy until `release()`; `ran` records what started. */
async function oneSlotLane(record: (data: DispatchedJobData) => string) {
  const local = new InProcessQueues();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const ran: string[] = [];
  await local.queueOf('here').start(1, async (data) => {
    ran.push(record(data));
    await gate;
  });
  return { local, ran, release };
}

/** What the scheduler hands over: a job it started itself (only id and attempts matter to the lane). */
const startedJob = (id: string, attempts = 1) => ({ job: { id, attempts }, hasDependencies: false }) as unknown as StartedJob;

describe('dispatch lanes (ROLE=all with Redis)', () => {
  it('hands jobs placed on the worker of this process over in memory, and every other worker through its Bull queue', async () => {
    const { bull, added } = recordingBull();
    const local = new InProcessQueues();
    const ran: DispatchedJobData[] = [];
    await local.queueOf('here').start(10, async (data) => void ran.push(data));
    const dispatcher = new BullJobDispatcher(bull, local);

    await dispatcher.dispatch([
      { workerId: 'here', jobId: 'a', attempt: 1 },
      { workerId: 'elsewhere', jobId: 'b', attempt: 2 },
      { workerId: 'here', jobId: 'c', attempt: 3 },
    ]);
    await settle();

    expect(ran).toEqual([{ jobId: 'a', attempt: 1 }, { jobId: 'c', attempt: 3 }]);
    expect(Object.fromEntries(added)).toEqual({ 'worker:elsewhere': ['b:2'] });
  });

  it('closes the queues of workers no longer live, and opens one again for a later dispatch', async () => {
    const { bull, added, closed } = recordingBull();
    const dispatcher = new BullJobDispatcher(bull, new InProcessQueues());
    await dispatcher.dispatch([{ workerId: 'gone', jobId: 'a', attempt: 1 }, { workerId: 'live', jobId: 'b', attempt: 1 }]);
    dispatcher.closeQueuesExcept(new Set(['live']));
    await settle();
    expect(closed).toEqual(['worker:gone']);
    await dispatcher.dispatch([{ workerId: 'gone', jobId: 'c', attempt: 1 }]);
    expect(added.get('worker:gone')).toEqual(['a:1', 'c:1']);
  });

  it('uses Bull for a worker of this process whose consumer has not started (a queue nobody takes from loses nothing to memory)', async () => {
    const { bull, added } = recordingBull();
    const local = new InProcessQueues();
    local.queueOf('here'); // created by the executor's wiring, not started yet
    await new BullJobDispatcher(bull, local).dispatch([{ workerId: 'here', jobId: 'a', attempt: 1 }]);
    expect(Object.fromEntries(added)).toEqual({ 'worker:here': ['a:1'] });
  });

  it('ignores a repeat of a job still queued or running in the lane', async () => {
    const { local, ran, release } = await oneSlotLane((data) => `${data.jobId}:${data.attempt}`);
    const dispatcher = new BullJobDispatcher(recordingBull().bull, local);
    await dispatcher.dispatch([{ workerId: 'here', jobId: 'a', attempt: 1 }]);
    await dispatcher.dispatch([{ workerId: 'here', jobId: 'a', attempt: 1 }], { again: true });
    release();
    await settle();
    expect(ran).toEqual(['a:1']);
  });

  it('starts, pauses and discards every lane of a worker', async () => {
    const calls: string[] = [];
    const lane = (name: string) => ({
      start: async (concurrency: number) => void calls.push(`${name} start ${concurrency}`),
      pause: async () => void calls.push(`${name} pause`),
      discard: async () => void calls.push(`${name} discard`),
      letGo: async () => void calls.push(`${name} let go`),
      heldStartedJobIds: () => [`${name}-held`],
    });
    const queue = new LanedWorkerQueue([lane('bull'), lane('local')]);
    await queue.start(4, async () => undefined);
    await queue.pause();
    await queue.discard();
    await queue.letGo();
    expect(calls).toEqual(['bull start 4', 'local start 4', 'bull pause', 'local pause', 'bull discard', 'local discard', 'bull let go', 'local let go']);
    expect(queue.heldStartedJobIds()).toEqual(['bull-held', 'local-held']);
  });

  it('runs jobs handed over already started, even while paused (they are running in the table), before queued ones', async () => {
    const local = new InProcessQueues();
    const ran: string[] = [];
    await local.queueOf('here').start(10, async (data) => void ran.push(`${data.jobId}:${data.attempt}:${data.started ? 'started' : 'queued'}`));
    const dispatcher = new BullJobDispatcher(recordingBull().bull, local);
    expect(dispatcher.runsHere('here')).toBe(true);
    expect(dispatcher.runsHere('elsewhere')).toBe(false);

    await local.queueOf('here').pause();
    await dispatcher.dispatch([{ workerId: 'here', jobId: 'q', attempt: 1 }]);
    dispatcher.handOver('here', [startedJob('s1', 1), startedJob('s2', 3)]);
    await settle();
    expect(ran).toEqual(['s1:1:started', 's2:3:started']); // the queued one waits for a start that never comes
  });

  it('keeps jobs handed over within the lane\'s concurrency: the rest wait for a free slot', async () => {
    const { local, ran, release } = await oneSlotLane((data) => data.jobId);
    new BullJobDispatcher(recordingBull().bull, local).handOver('here', [startedJob('a'), startedJob('b')]);
    await settle();
    expect(ran).toEqual(['a']);
    expect(local.queueOf('here').heldStartedJobIds()).toEqual(['b']); // running in the table: the heartbeat reports it
    release();
    await settle();
    await settle();
    expect(ran).toEqual(['a', 'b']);
  });
});

describe('in-process queues (embedded mode)', () => {
  it('keep feeding a worker of this process that was declared gone and came back: forget drops only what waited', async () => {
    const { local, ran, release } = await oneSlotLane((d) => `${d.jobId}:${d.attempt}`);
    const dispatcher = new InProcessJobDispatcher(local);
    await dispatcher.dispatch([
      { workerId: 'here', jobId: 'running', attempt: 1 },
      { workerId: 'here', jobId: 'waiting', attempt: 1 },
    ]);
    await settle();
    expect(ran).toEqual(['running:1']);

    // The worker froze past WORKER_LOST_SECONDS: the reaper took its placements back and forgot its queue.
    await dispatcher.forget('here');
    expect(dispatcher.runsHere('here')).toBe(true);
    // Placed again after it registered again: the same consumer takes them, the dropped one included.
    await dispatcher.dispatch([
      { workerId: 'here', jobId: 'waiting', attempt: 1 },
      { workerId: 'here', jobId: 'new', attempt: 1 },
    ]);
    release();
    await settle();
    await settle();
    expect(ran).toEqual(['running:1', 'waiting:1', 'new:1']);
  });

  it("keeps the queue of this process's worker whose consumer has not started yet (its stale row declared lost at boot)", async () => {
    const local = new InProcessQueues();
    const dispatcher = new InProcessJobDispatcher(local);
    const queue = local.consumerQueue('here'); // the worker's WorkerQueue, made when the app is built
    await dispatcher.forget('here'); // the sweep declared its row from before the restart lost
    const ran: string[] = [];
    await queue.start(1, async (d) => void ran.push(d.jobId)); // the worker registered
    await dispatcher.dispatch([{ workerId: 'here', jobId: 'j', attempt: 1 }]);
    await settle();
    expect(dispatcher.runsHere('here')).toBe(true);
    expect(ran).toEqual(['j']);
  });

  it('forget deletes the queue of a worker no consumer of this process reads', async () => {
    const local = new InProcessQueues();
    local.queueOf('gone').add({ jobId: 'x', attempt: 1 });
    local.forget('gone');
    expect(local.queueOf('gone').heldStartedJobIds()).toEqual([]);
    expect(local.consumes('gone')).toBe(false);
  });
});
