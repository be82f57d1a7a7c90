import { describe, expect, it } from '@jest/globals';
import type { JobEventName } from './api/types.js';
import { clockOffset, outcomeOf, summarize, ThroughputBuckets } from './throughput.js';

const events = (...names: JobEventName[]) => names.map((event) => ({ event }));
const at = (second: number, ms = 0) => second * 1000 + ms;

describe('throughput buckets', () => {
  it('counts completions and failures (timeouts included) per second, and nothing else', () => {
    expect(outcomeOf('job_completed')).toBe('completed');
    expect(outcomeOf('job_failed')).toBe('failed');
    expect(outcomeOf('job_timeout')).toBe('failed');
    expect(outcomeOf('job_retry_scheduled')).toBeNull();
    expect(outcomeOf('job_started')).toBeNull();

    const buckets = new ThroughputBuckets(5);
    buckets.add(events('job_created', 'job_completed', 'job_completed', 'job_failed'), at(100, 10));
    buckets.add(events('job_completed', 'job_timeout', 'job_retry_scheduled'), at(100, 990));
    buckets.add(events('job_completed'), at(102, 500));
    const [xs, completed, failed] = buckets.series(at(103, 1));
    expect(xs).toEqual([98, 99, 100, 101, 102]);
    expect(completed).toEqual([0, 0, 3, 0, 1]);
    expect(failed).toEqual([0, 0, 2, 0, 0]);
  });

  it('does not count a failed attempt followed by its retry, in the same batch or the next', () => {
    const ev = (event: JobEventName, job_id: string, sequence: number) => ({ event, job_id, data: { sequence } });
    const buckets = new ThroughputBuckets(5);
    buckets.add([ev('job_failed', 'a', 5), ev('job_retry_scheduled', 'a', 6)], at(100, 100));
    expect(buckets.series(at(101))[2]).toEqual([0, 0, 0, 0, 0]);
    // The retry in the next frame's batch takes the failure back.
    buckets.add([ev('job_timeout', 'b', 3)], at(101, 100));
    buckets.add([ev('job_retry_scheduled', 'b', 4)], at(101, 120));
    expect(buckets.series(at(102))[2]).toEqual([0, 0, 0, 0, 0]);
    // A last attempt's failure (no retry after it), another job's retry, or a retry not right after it: an end.
    buckets.add([ev('job_failed', 'c', 7), ev('job_retry_scheduled', 'd', 8), ev('job_failed', 'e', 2), ev('job_retry_scheduled', 'e', 9)], at(102, 100));
    expect(buckets.series(at(103))[2]).toEqual([0, 0, 0, 0, 2]);
  });

  it('leaves out the second still counting', () => {
    const buckets = new ThroughputBuckets(3);
    buckets.add(events('job_completed'), at(50, 200));
    expect(buckets.series(at(50, 900))).toEqual([[47, 48, 49], [0, 0, 0], [0, 0, 0]]);
    expect(buckets.series(at(51))[1]).toEqual([0, 0, 1]);
  });

  it('forgets a second once it leaves the window, even when its slot is not reused', () => {
    const buckets = new ThroughputBuckets(4);
    buckets.add(events('job_completed', 'job_completed'), at(10));
    expect(buckets.series(at(14))[1]).toEqual([2, 0, 0, 0]);
    expect(buckets.series(at(15))[1]).toEqual([0, 0, 0, 0]);
    // The same slot used again a window later starts from zero.
    buckets.add(events('job_completed'), at(14, 100));
    expect(buckets.series(at(15))[1]).toEqual([0, 0, 0, 1]);
  });

  it('keeps its size however long it runs, and reads a gap as zeros', () => {
    const buckets = new ThroughputBuckets(60);
    for (let s = 0; s < 10_000; s += 7) buckets.add(events('job_completed'), at(s));
    const [xs, completed] = buckets.series(at(9_997));
    expect(xs).toHaveLength(60);
    expect(completed.reduce((a, b) => a + b, 0)).toBe(xs.filter((s) => s % 7 === 0).length);
  });

  it('summarizes the last second and the peak', () => {
    const buckets = new ThroughputBuckets(5);
    buckets.add(events('job_completed', 'job_completed', 'job_failed'), at(7));
    buckets.add(events('job_completed'), at(9));
    expect(summarize(buckets.series(at(10)))).toEqual({ completed: 1, failed: 0, peak: 3, total: 4 });
  });

  it('starts from the history before live counting began, on its own clock', () => {
    const buckets = new ThroughputBuckets(10);
    const history = {
      step_seconds: 1,
      items: [
        { at: new Date(at(80)).toISOString(), completed: 9, failed: 0 }, // out of the window by the time it arrives
        { at: new Date(at(95)).toISOString(), completed: 2, failed: 1 },
        { at: new Date(at(97)).toISOString(), completed: 4, failed: 0 },
        { at: new Date(at(98)).toISOString(), completed: 7, failed: 7 }, // the live events' second: theirs
      ],
    };
    // Live counting began at this clock's second 100; the database's clock is 2 s behind (98 there).
    buckets.add(events('job_completed'), at(100, 300));
    // The answer arrives at 102.5: the window is 93..102.
    expect(buckets.seed(history, 100, 2_000, at(102, 500))).toBe(2);
    const [xs, completed, failed] = buckets.series(at(103));
    expect(xs[0]).toBe(93);
    expect(completed).toEqual([0, 0, 0, 0, 2, 0, 4, 1, 0, 0]);
    expect(failed).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
    // Buckets wider than a second are not spread out over seconds: nothing is seeded.
    expect(new ThroughputBuckets(10).seed({ step_seconds: 5, items: history.items }, 100, 0, at(100))).toBe(0);
  });

  it('refills the seconds the live feed was down from the history, replacing what little it counted of them', () => {
    const buckets = new ThroughputBuckets(10);
    buckets.add(events('job_completed'), at(100, 300)); // before the drop
    buckets.add(events('job_completed'), at(101, 100)); // the last event before the drop, in its second
    // Down from 101 to 105; the history (same clock) says what finished meanwhile.
    const history = {
      step_seconds: 1,
      items: [101, 102, 103, 104, 105].map((second) => ({ at: new Date(at(second)).toISOString(), completed: second - 100, failed: second === 103 ? 2 : 0 })),
    };
    expect(buckets.refill(history, 101, 105, 0, at(105, 200))).toBe(4);
    buckets.add(events('job_completed'), at(105, 300)); // live again
    const [xs, completed, failed] = buckets.series(at(106));
    expect(xs.at(-1)).toBe(105);
    expect(completed.slice(-6)).toEqual([1, 1, 2, 3, 4, 1]);
    expect(failed.slice(-6)).toEqual([0, 0, 0, 2, 0, 0]);
  });

  it('reads the clock offset halfway through the request', () => {
    expect(clockOffset(new Date(at(50)).toISOString(), at(52), at(52, 400))).toBe(2_200);
    expect(clockOffset(new Date(at(50, 100)).toISOString(), at(49), at(49, 200))).toBe(-1_000);
  });

  it('refuses a window too small to draw', () => {
    expect(() => new ThroughputBuckets(1)).toThrow(RangeError);
  });
});
