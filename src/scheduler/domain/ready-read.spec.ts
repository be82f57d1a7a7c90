import { describe, expect, it } from '@jest/globals';
import type { ReadyJob } from '../../database/job-order.js';
import { servedInTurn, servedKey, withBeyond } from './ready-read.js';

const job = (id: string, concurrencyKey: string | null, priority = 'normal'): ReadyJob => ({
  id,
  type: 't',
  concurrencyKey,
  priority,
  cpuUnits: 1,
  memoryMb: 128,
  queuedAt: null,
  createdAt: new Date(0),
  reasonCode: null,
  reasonMessage: null,
});
const ids = (jobs: readonly ReadyJob[]) => jobs.map((j) => j.id);
const served = (...keys: Array<string | null>) => new Map(keys.map((k, i) => [servedKey(k), i + 1]));

describe('servedInTurn: keys take turns across passes', () => {
  // A read in fair order: A's and B's first jobs share turn 1, A due first.
  const read = [job('a1', 'A'), job('b1', 'B'), job('a2', 'A'), job('b2', 'B'), job('a3', 'A')];

  it('keeps the read order when no key was served yet', () => {
    expect(ids(servedInTurn(read, new Map()))).toEqual(['a1', 'b1', 'a2', 'b2', 'a3']);
  });

  it('puts first, within a turn, the key served longest ago', () => {
    expect(ids(servedInTurn(read, served('A')))).toEqual(['b1', 'a1', 'b2', 'a2', 'a3']);
    expect(ids(servedInTurn(read, served('A', 'B')))).toEqual(['a1', 'b1', 'a2', 'b2', 'a3']);
  });

  it('takes turns one start at a time: 5 jobs of A and 2 of B go A B A B A A A', () => {
    const queue = [...['a1', 'a2', 'a3', 'a4', 'a5'].map((id) => job(id, 'A')), job('b1', 'B'), job('b2', 'B')];
    const last = new Map<string, number>();
    const started: string[] = [];
    for (let seq = 1; queue.length > 0; seq += 1) {
      // What a read returns: each key's jobs in due order, turn by turn (the fair order).
      const turn = (j: ReadyJob) => queue.filter((q) => q.concurrencyKey === j.concurrencyKey).indexOf(j);
      const fair = [...queue].sort((x, y) => turn(x) - turn(y) || queue.indexOf(x) - queue.indexOf(y));
      const next = servedInTurn(fair, last)[0]!;
      started.push(next.concurrencyKey!);
      last.set(servedKey(next.concurrencyKey), seq);
      queue.splice(queue.indexOf(next), 1);
    }
    expect(started.join(' ')).toBe('A B A B A A A');
  });

  it('never lets a turn or a priority be skipped for it', () => {
    const mixed = [job('h', 'A', 'high'), job('n-b1', 'B'), job('n-a1', 'A'), job('n-b2', 'B')];
    expect(ids(servedInTurn(mixed, served('B', 'A')))).toEqual(['h', 'n-b1', 'n-a1', 'n-b2']);
    expect(ids(servedInTurn(mixed, served('A', 'B')))).toEqual(['h', 'n-a1', 'n-b1', 'n-b2']);
  });

  it('counts jobs without a key as one key, and leaves a read without keys as it is', () => {
    expect(ids(servedInTurn([job('p1', null), job('k1', 'K'), job('p2', null)], served(null)))).toEqual(['k1', 'p1', 'p2']);
    const plain = [job('p1', null), job('p2', null)];
    expect(servedInTurn(plain, served(null))).toBe(plain);
  });
});

describe('withBeyond: a full window keeps the jobs a look behind it found', () => {
  const nothingHeld = { types: [], pairs: [] };

  it('adds starving jobs the window did not read, once, at its end', () => {
    const window = [job('h1', null, 'high'), job('h2', null, 'high')];
    expect(ids(withBeyond(window, [job('low', null, 'low'), job('h1', null, 'high')], nothingHeld))).toEqual(['h1', 'h2', 'low']);
  });

  it('adds a job found twice by the look (starving and fitting) once', () => {
    expect(ids(withBeyond([job('h1', null, 'high')], [job('low', null, 'low'), job('low', null, 'low')], nothingHeld))).toEqual(['h1', 'low']);
  });

  it('leaves out what the queue rules hold back, by type or by (type, key)', () => {
    const starving = [{ ...job('paused', null, 'low'), type: 'held_type' }, job('keyed', 'k', 'low'), job('free', 'other', 'low')];
    const held = { types: ['held_type'], pairs: [{ type: 't', key: 'k' }] };
    expect(ids(withBeyond([], starving, held))).toEqual(['free']);
  });
});
