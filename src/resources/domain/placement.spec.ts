import { describe, expect, it } from '@jest/globals';
import { bestFit, explainWaiting, planPlacements, type QueuedJob, type WorkerRoom } from './placement.js';

const worker = (id: string, capacity: [number, number, number], allocated: [number, number, number] = [0, 0, 0], accepting = true): WorkerRoom => ({
  id,
  accepting,
  capacity: { slots: capacity[0], cpuUnits: capacity[1], memoryMb: capacity[2] },
  allocated: { slots: allocated[0], cpuUnits: allocated[1], memoryMb: allocated[2] },
});
const job = (id: string, cpuUnits = 1, memoryMb = 128, starving = false): QueuedJob => ({ id, cpuUnits, memoryMb, starving });

describe(bestFit.name, () => {
  it('picks the worker with the least room left that still fits', () => {
    const big = worker('big', [10, 16, 16384]);
    const small = worker('small', [10, 4, 4096]);
    expect(bestFit(job('a', 2, 512), [big, small])?.id).toBe('small');
  });

  it('skips workers without a free slot, cpu or memory', () => {
    expect(bestFit(job('a'), [worker('w', [1, 8, 4096], [1, 1, 128])])).toBeNull();
    expect(bestFit(job('a', 4), [worker('w', [5, 8, 4096], [1, 5, 128])])).toBeNull();
    expect(bestFit(job('a', 1, 2048), [worker('w', [5, 8, 4096], [1, 1, 3000])])).toBeNull();
  });

  it('skips workers that do not accept jobs', () => {
    expect(bestFit(job('a'), [worker('w', [5, 8, 4096], [0, 0, 0], false)])).toBeNull();
  });

  it('breaks ties by worker id', () => {
    expect(bestFit(job('a'), [worker('w2', [2, 2, 256]), worker('w1', [2, 2, 256])])?.id).toBe('w1');
  });
});

describe(planPlacements.name, () => {
  it('places in queue order and books what it placed', () => {
    const plan = planPlacements([job('a', 3), job('b', 3), job('c', 3)], [worker('w', [10, 8, 4096])]);
    expect(plan.placements).toEqual([
      { jobId: 'a', workerId: 'w' },
      { jobId: 'b', workerId: 'w' },
    ]);
    expect(plan.waiting.map((w) => w.jobId)).toEqual(['c']);
    expect(plan.waiting[0]!.reason).toMatchObject({ code: 'INSUFFICIENT_RESOURCES', message: '0/1 workers fit: 1 insufficient cpu_units' });
  });

  it('lets a smaller later job start when a bigger one does not fit', () => {
    const plan = planPlacements([job('big', 6), job('small', 1)], [worker('w', [10, 8, 4096], [1, 4, 128])]);
    expect(plan.placements).toEqual([{ jobId: 'small', workerId: 'w' }]);
    expect(plan.waiting.map((w) => w.jobId)).toEqual(['big']);
  });

  it('reserves room for a starving job so smaller jobs cannot take it', () => {
    const plan = planPlacements([job('small', 1), job('big', 6, 128, true)], [worker('w', [10, 8, 4096], [1, 4, 128])]);
    expect(plan.placements).toEqual([]);
    expect(plan.reservations.get('w')).toBe('big');
    expect(plan.waiting.find((w) => w.jobId === 'small')!.reason.message).toBe('0/1 workers fit: 1 reserved for a starving job');
  });

  it('places a starving job first once it fits', () => {
    const plan = planPlacements([job('small', 4), job('big', 6, 128, true)], [worker('w', [10, 8, 4096])]);
    expect(plan.placements).toEqual([{ jobId: 'big', workerId: 'w' }]);
  });

  it('keeps other workers open while one is reserved', () => {
    const plan = planPlacements(
      [job('big', 6, 128, true), job('small', 1)],
      [worker('a', [10, 8, 4096], [1, 4, 128]), worker('b', [10, 2, 4096])],
    );
    expect(plan.reservations.get('a')).toBe('big');
    expect(plan.placements).toEqual([{ jobId: 'small', workerId: 'b' }]);
  });

  it('spreads over several workers by best fit', () => {
    const plan = planPlacements(
      [job('j1', 4, 2048), job('j2', 1, 128), job('j3', 4, 2048)],
      [worker('large', [10, 8, 8192]), worker('tiny', [10, 1, 256])],
    );
    expect(plan.placements).toEqual([
      { jobId: 'j1', workerId: 'large' },
      { jobId: 'j2', workerId: 'tiny' },
      { jobId: 'j3', workerId: 'large' },
    ]);
  });
});

describe(explainWaiting.name, () => {
  it('says NO_WORKERS when none is registered', () =>
    expect(explainWaiting(job('a'), [])).toEqual({ code: 'NO_WORKERS', message: 'no worker is registered' }));

  it('says NO_WORKERS when every worker is draining', () =>
    expect(explainWaiting(job('a'), [worker('w', [1, 1, 1], [0, 0, 0], false)]).message).toBe('0/1 workers accept jobs (draining, stopping, or passed over for not starting what they were handed)'));

  it('counts each dimension a worker lacks', () => {
    const reason = explainWaiting(job('a', 4, 1024), [worker('w1', [2, 8, 4096], [2, 1, 128]), worker('w2', [4, 8, 4096], [1, 6, 3500])]);
    expect(reason).toMatchObject({
      code: 'INSUFFICIENT_RESOURCES',
      message: '0/2 workers fit: 1 no free slot, 1 insufficient cpu_units, 1 insufficient memory_mb',
      workers: 2,
      lacking: { slots: 1, cpu_units: 1, memory_mb: 1 },
      requested: { cpu_units: 4, memory_mb: 1024 },
    });
  });

  it('counts a worker passed over for a while among the workers, by its capacity, and says so', () => {
    const bigPassedOver = { ...worker('big', [1, 8, 4096], [0, 0, 0], false), passedOver: true };
    const small = [worker('s1', [1, 2, 1024]), worker('s2', [1, 2, 1024]), worker('s3', [1, 2, 1024])];
    const reason = explainWaiting(job('a', 4, 512), [bigPassedOver, ...small]);
    expect(reason).toMatchObject({
      code: 'INSUFFICIENT_RESOURCES',
      message: '0/4 workers fit: 3 insufficient cpu_units, 1 passed over for now (did not start what it was handed)',
      workers: 4,
      lacking: { slots: 0, cpu_units: 3, memory_mb: 0 },
      never_fits: { cpu_units: 3, memory_mb: 0 },
      passed_over: 1,
    });
    // A draining worker is not one the job may run on.
    expect(explainWaiting(job('a', 4, 512), [worker('big', [1, 8, 4096], [0, 0, 0], false), ...small])).toMatchObject({ workers: 3, never_fits: { cpu_units: 3 } });
  });

  it('says when no worker could ever fit the job', () =>
    expect(explainWaiting(job('a', 16), [worker('w', [4, 8, 4096])])).toMatchObject({ never_fits: { cpu_units: 1, memory_mb: 0 } }));
});

describe('planPlacements: a starving job that reserves a worker, under a concurrency limit', () => {
  it('keeps its place under the limit: a smaller job of its type waits', () => {
    // Type t: limit 5, 4 running. The starving job fits nowhere now; the small one fits on another worker.
    let running = 4;
    const gate = {
      check: (j: QueuedJob) => (j.type === 't' && running >= 5 ? { code: 'CONCURRENCY_LIMIT' as const, message: 'type t at its limit' } : null),
      admit: (j: QueuedJob) => void (j.type === 't' && (running += 1)),
    };
    const starving = { ...job('starving', 8, 128, true), type: 't' };
    const small = { ...job('small', 1), type: 't' };
    const plan = planPlacements([starving, small], [worker('a', [10, 8, 4096], [1, 6, 128]), worker('b', [10, 2, 4096])], gate);
    expect(plan.placements).toEqual([]);
    expect(plan.reservations.get('a')).toBe('starving');
    expect(plan.waiting.find((w) => w.jobId === 'small')?.reason.code).toBe('CONCURRENCY_LIMIT');
  });
});
