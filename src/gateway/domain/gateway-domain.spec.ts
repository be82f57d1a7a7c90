import { describe, expect, it } from '@jest/globals';
import { EventOrder } from './event-order.js';
import { ConnectionsPerAddress } from './connections-per-address.js';
import { EMPTY, isAll, parseFilter, roomsFor, roomsOf, subscribe, unsubscribe, view, type Filter, type Subscriptions } from './subscriptions.js';

const ID = '019ac4a2-6f1e-7c3a-9d4e-2b8f0a1c3d5e';
const ID2 = '019ac4a2-6f1e-7c3a-9d4e-2b8f0a1c3d5f';
const filter = (input: unknown, requireOne = true) => parseFilter(input, { requireOne }) as Filter;
const subs = (s: Subscriptions | { error: string }) => s as Subscriptions;

describe(parseFilter.name, () => {
  it('refuses more names than MAX_FILTERS before looking at them (a list, or one comma-separated string)', () => {
    expect(parseFilter({ type: Array.from({ length: 1001 }, () => 'noop') }, { requireOne: true })).toEqual({ error: 'at most 1000 filters per client' });
    expect(parseFilter({ type: 'noop,'.repeat(150_000) }, { requireOne: true })).toEqual({ error: 'at most 1000 filters per client' });
    expect(parseFilter({ type: Array.from({ length: 1000 }, () => 'noop') }, { requireOne: true })).not.toHaveProperty('error');
  });

  it.each([
    [{ job_id: ID }, { jobIds: [ID], types: [] }],
    [{ type: 'send_email' }, { jobIds: [], types: ['send_email'] }],
    [{ job_id: `${ID},${ID2}`, type: ['noop', 'data_fetch'] }, { jobIds: [ID, ID2], types: ['noop', 'data_fetch'] }],
    [{ job_id: ID.toUpperCase() }, { jobIds: [ID], types: [] }],
  ])('reads %j', (input, expected) => expect(parseFilter(input, { requireOne: true })).toEqual(expected));

  it.each([
    [{ job_id: 'nope' }, 'job_id "nope" is not a UUID'],
    [{ type: 'Send-Email' }, 'type "Send-Email" is not a job type (snake_case)'],
    [{ job_id: 5 }, 'job_id must be a string or a list of strings'],
    [{}, 'name a job_id, a type or a schedule_id'],
    [{ job_id: ID, status: 'failed' }, 'unknown key "status": a filter names job_id, type, schedule_id'],
    [{ jobId: ID }, 'unknown key "jobId": a filter names job_id, type, schedule_id'],
    ['text', 'expected an object like {job_id: "<uuid>"} or {type: "<job type>"}'],
    [[ID], 'expected an object like {job_id: "<uuid>"} or {type: "<job type>"}'],
    [{ type: '' }, 'type "" is not a job type (snake_case)'],
    [{ job_id: ' , ' }, 'job_id "" is not a UUID'],
  ])('refuses %j', (input, error) => expect(parseFilter(input, { requireOne: true })).toEqual({ error }));

  it('refuses an empty filter in a handshake (type=): it is not "no filter"', () =>
    expect(parseFilter({ type: '' }, { requireOne: false })).toEqual({ error: 'type "" is not a job type (snake_case)' }));

  it('accepts no filter in a handshake', () => expect(parseFilter({}, { requireOne: false })).toEqual({ jobIds: [], types: [] }));
});

describe('subscriptions', () => {
  it('starts unfiltered, in the room of every event', () => {
    expect(isAll(EMPTY)).toBe(true);
    expect(roomsOf(EMPTY)).toEqual(['all']);
    expect(view(EMPTY)).toEqual({ all: true, job_ids: [], types: [] });
  });

  it('narrows on the first subscribe and adds up after', () => {
    const one = subs(subscribe(EMPTY, filter({ job_id: ID })));
    expect(view(one)).toEqual({ all: false, job_ids: [ID], types: [] });
    const two = subs(subscribe(one, filter({ type: 'noop' })));
    expect(roomsOf(two)).toEqual([`job:${ID}`, 'type:noop']);
  });

  it('becomes unfiltered again when the last filter goes', () => {
    const one = subs(subscribe(EMPTY, filter({ type: 'noop' })));
    const none = unsubscribe(one, filter({ type: 'noop' }));
    expect(view(none).all).toBe(true);
  });

  it('reaches a job event through every room that matches', () => expect(roomsFor(ID, 'noop')).toEqual(['all', `job:${ID}`, 'type:noop']));
});

describe(EventOrder.name, () => {
  const e = (sequence: number, jobId = 'j') => ({ jobId, sequence });

  it('passes events in order straight through', () => {
    const order = new EventOrder();
    expect(order.push(e(1), 0)).toEqual([e(1)]);
    expect(order.push(e(2), 0)).toEqual([e(2)]);
  });

  it('holds an event that arrives early until the missing one comes', () => {
    const order = new EventOrder();
    order.push(e(1), 0);
    expect(order.push(e(3), 1)).toEqual([]);
    expect(order.push(e(2), 2)).toEqual([e(2), e(3)]);
  });

  it('gives up on a gap after the hold time', () => {
    const order = new EventOrder(100);
    order.push(e(1), 0);
    order.push(e(3), 10);
    expect(order.flush(50)).toEqual([]);
    expect(order.flush(111)).toEqual([e(3)]);
  });

  it('drops duplicates', () => {
    const order = new EventOrder();
    order.push(e(1), 0);
    expect(order.push(e(1), 1)).toEqual([]);
  });

  it('keeps jobs apart; a job first seen past its first event waits for the earlier ones, at most holdMs', () => {
    const order = new EventOrder(200);
    expect(order.push(e(5, 'a'), 0)).toEqual([]);
    expect(order.push(e(1, 'b'), 0)).toEqual([e(1, 'b')]);
    expect(order.flush(199)).toEqual([]);
    expect(order.flush(200)).toEqual([e(5, 'a')]);
  });

  it("puts a job's first event before a later one that came a moment ahead of it (a batch's job_created behind a worker's job_started)", () => {
    const order = new EventOrder(200);
    expect(order.push(e(2, 'x'), 0)).toEqual([]);
    expect(order.push(e(1, 'x'), 10)).toEqual([e(1, 'x'), e(2, 'x')]);
  });

  it('looks only at the jobs with held events when flushing: remembering many jobs costs the timer nothing', () => {
    const order = new EventOrder(100);
    for (let i = 0; i < 1000; i++) order.push(e(1, `j${i}`), 0);
    order.push(e(3, 'j7'), 10);
    expect(order.waitingJobs).toBe(1);
    expect(order.flush(111)).toEqual([e(3, 'j7')]);
    expect(order.waitingJobs).toBe(0);
    expect(order.push(e(4, 'j7'), 120)).toEqual([e(4, 'j7')]);
  });

  it('sends the held events of a job it forgets, in order, rather than losing them', () => {
    const order = new EventOrder(100, 2);
    order.push(e(1, 'a'), 0);
    order.push(e(4, 'a'), 0);
    order.push(e(3, 'a'), 0);
    order.push(e(1, 'b'), 0);
    expect(order.push(e(1, 'c'), 0)).toEqual([e(3, 'a'), e(4, 'a'), e(1, 'c')]);
    expect(order.waitingJobs).toBe(0);
    expect(order.flush(1000)).toEqual([]);
    // Its missing event still goes out when it comes (the job is new again).
    expect(order.push(e(2, 'a'), 5)).toEqual([]);
    expect(order.flush(1000)).toEqual([e(2, 'a')]);
  });

  it('still emits an event that comes after the hold gave up on it, once', () => {
    const order = new EventOrder(100);
    order.push(e(1), 0);
    order.push(e(3), 10);
    expect(order.flush(111)).toEqual([e(3)]);
    expect(order.push(e(2), 500)).toEqual([e(2)]);
    expect(order.push(e(2), 501)).toEqual([]);
    expect(order.push(e(4), 502)).toEqual([e(4)]);
  });

  it('still emits events older than the first one seen of a job (published late by another process), once', () => {
    const order = new EventOrder(100);
    expect(order.push(e(3), 0)).toEqual([]);
    expect(order.flush(100)).toEqual([e(3)]); // its earlier ones given up on
    expect(order.push(e(1), 110)).toEqual([e(1)]);
    expect(order.push(e(1), 111)).toEqual([]);
    expect(order.push(e(2), 112)).toEqual([e(2)]);
    expect(order.push(e(3), 113)).toEqual([]);
  });

  it('forgets the least recently seen jobs past its bound', () => {
    const order = new EventOrder(100, 2);
    order.push(e(1, 'a'), 0);
    order.push(e(1, 'b'), 0);
    order.push(e(1, 'c'), 0);
    expect(order.push(e(9, 'a'), 0)).toEqual([]); // 'a' was forgotten: 9 waits for 1..8 as for a job first seen
    expect(order.flush(100)).toEqual([e(9, 'a')]);
  });
});

describe(ConnectionsPerAddress.name, () => {
  it('admits up to the bound per address, again as connections close; 0 admits any number', () => {
    const open = new ConnectionsPerAddress(2);
    open.opened('a');
    open.opened('a');
    expect(open.admits('a')).toBe(false);
    expect(open.admits('b')).toBe(true);
    open.closed('a');
    expect(open.admits('a')).toBe(true);
    open.closed('a');
    expect(open.addresses).toBe(0);
    const unbounded = new ConnectionsPerAddress(0);
    for (let i = 0; i < 1000; i++) unbounded.opened('a');
    expect(unbounded.admits('a')).toBe(true);
  });
});
