import type { JobEvent, JobEventName } from '../../events/job-event-bus.js';
import { plainOrder, readyJobOfEvent, ReadyTail } from './ready-tail.js';

const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();

/** The data of a job's event as job_event_data builds it; ready ones carry the placement fields. */
function event(name: JobEventName, id: string, status: string, extra: Record<string, unknown> = {}): JobEvent {
  const ready = status === 'ready' ? { cpu_units: 1, memory_mb: 128, concurrency_key: null, created_at: at(0), run_at: null, queued_at: at(0) } : {};
  return { event: name, jobId: id, data: { job_id: id, type: 'noop', priority: 'normal', status, attempt: 0, sequence: 1, timestamp: at(0), ...ready, ...extra } };
}
const ids = (jobs: ReadonlyArray<{ id: string }> | null) => jobs?.map((j) => j.id) ?? null;

/** A tail whose last read found the queue drained. */
function drained(limit = 100): ReadyTail {
  const tail = new ReadyTail(limit);
  tail.readBegins();
  tail.readEnded([], true);
  return tail;
}

describe(readyJobOfEvent.name, () => {
  it('reads what a placement needs from a ready event', () => {
    const t = readyJobOfEvent(event('job_ready', 'a', 'ready', { cpu_units: 2, memory_mb: 512, concurrency_key: 'k', created_at: at(5), run_at: at(90), queued_at: at(100) }));
    expect(t).toEqual({
      job: { id: 'a', type: 'noop', concurrencyKey: 'k', priority: 'normal', cpuUnits: 2, memoryMb: 512, queuedAt: new Date(at(100)), createdAt: new Date(at(5)), reasonCode: null, reasonMessage: null },
      due: Date.parse(at(90)),
    });
  });

  it('is due at its submit when it has no run_at or an earlier one', () => {
    expect(readyJobOfEvent(event('job_created', 'a', 'ready', { created_at: at(50) }))!.due).toBe(Date.parse(at(50)));
    expect(readyJobOfEvent(event('job_created', 'a', 'ready', { created_at: at(50), run_at: at(10) }))!.due).toBe(Date.parse(at(50)));
  });

  it('gives null for an event without the placement fields', () => {
    expect(readyJobOfEvent(event('job_ready', 'a', 'ready', { cpu_units: undefined }))).toBeNull();
    expect(readyJobOfEvent(event('job_ready', 'a', 'ready', { created_at: 'not a time' }))).toBeNull();
  });
});

describe(plainOrder.name, () => {
  it('orders as the ready queue read does: priority, then due time, then id', () => {
    const t = (id: string, priority: string, due: number) => ({ job: { ...readyJobOfEvent(event('job_ready', id, 'ready'))!.job, priority }, due });
    const order = plainOrder([t('c', 'normal', 2), t('b', 'normal', 1), t('a', 'normal', 2), t('d', 'critical', 9), t('e', 'low', 0), t('f', 'high', 5)]);
    expect(order.map((j) => j.id)).toEqual(['d', 'f', 'b', 'a', 'c', 'e']);
  });
});

describe(ReadyTail.name, () => {
  it('knows nothing until a read found the queue drained', () => {
    const tail = new ReadyTail(100);
    tail.observe(event('job_created', 'a', 'ready'));
    expect(tail.known()).toBeNull();
    tail.readBegins();
    tail.readEnded([{ id: 'x' }], false); // a read that left something unplaced
    expect(tail.known()).toBeNull();
  });

  it('after a drained read, knows the jobs the events announce, and the queue empty before them', () => {
    const tail = drained();
    expect(tail.known()).toEqual([]);
    tail.observe(event('job_created', 'a', 'ready'));
    tail.observe(event('job_ready', 'b', 'ready'));
    tail.observe(event('job_created', 'c', 'blocked')); // not ready: not placed
    expect(ids(tail.known())).toEqual(['a', 'b']);
  });

  it('keeps what arrived during the read and is not in it', () => {
    const tail = new ReadyTail(100);
    tail.readBegins();
    tail.observe(event('job_created', 'a', 'ready')); // committed before the snapshot: the read has it
    tail.observe(event('job_created', 'b', 'ready')); // after it: the read misses it
    tail.readEnded([{ id: 'a' }], true);
    expect(ids(tail.known())).toEqual(['b']);
  });

  it('drops jobs that leave ready and unplaced (started, cancelled) and those placed from it', () => {
    const tail = drained();
    for (const id of ['a', 'b', 'c']) tail.observe(event('job_created', id, 'ready'));
    tail.observe(event('job_started', 'a', 'running'));
    tail.observe(event('job_cancelled', 'b', 'cancelled'));
    expect(ids(tail.known())).toEqual(['c']);
    tail.placed([{ jobId: 'c' }], 1);
    expect(tail.known()).toEqual([]);
  });

  it('keeps the jobs a pass had no room for', () => {
    const tail = drained();
    for (const id of ['a', 'b']) tail.observe(event('job_created', id, 'ready'));
    tail.placed([{ jobId: 'a' }], 1);
    expect(ids(tail.known())).toEqual(['b']);
  });

  it('forgets when a job placed from it did not start: taken meanwhile, or its worker stopping', () => {
    const tail = drained();
    for (const id of ['a', 'b']) tail.observe(event('job_created', id, 'ready'));
    tail.placed([{ jobId: 'a' }, { jobId: 'b' }], 1);
    expect(tail.known()).toBeNull();
  });

  it('forgets on a ready event without the placement fields, and past its limit', () => {
    const tail = drained();
    tail.observe(event('job_ready', 'a', 'ready', { memory_mb: undefined }));
    expect(tail.known()).toBeNull();

    const small = drained(2);
    for (const id of ['a', 'b']) small.observe(event('job_created', id, 'ready'));
    expect(ids(small.known())).toEqual(['a', 'b']);
    small.observe(event('job_created', 'c', 'ready'));
    expect(small.known()).toBeNull();
  });

  it('a forget during a read outlasts it: the read may have missed what was not followed', () => {
    const tail = new ReadyTail(100);
    tail.readBegins();
    tail.forget();
    tail.readEnded([], true);
    expect(tail.known()).toBeNull();
    tail.readBegins();
    tail.readEnded([], true); // the next read starts afresh
    expect(tail.known()).toEqual([]);
  });

  it('forgets on demand (the sweep, a signal, leadership)', () => {
    const tail = drained();
    tail.observe(event('job_created', 'a', 'ready'));
    tail.forget();
    expect(tail.known()).toBeNull();
    tail.observe(event('job_created', 'b', 'ready')); // still unknown: only a read makes it whole again
    expect(tail.known()).toBeNull();
  });
});
