import { describe, expect, it } from '@jest/globals';
import type { JobUpdate } from '../api/types.js';
import { highestSequence, replayPages, ReplayStopped } from './replay-pages.js';

const update = (sequence: number) => ({ event: 'job_progress', data: { job_id: 'j', sequence } }) as unknown as JobUpdate;

describe('replayPages', () => {
  it('follows an answer with more by the page after its last event', async () => {
    const asked: number[] = [];
    const pages: Record<number, unknown> = {
      0: { ok: true, events: [update(1), update(2), update(3)], more: true },
      3: { ok: true, events: [update(4)], more: false },
    };
    const events = await replayPages(async (after) => (asked.push(after), pages[after]), 0);
    expect(events.map((e) => e.data.sequence)).toEqual([1, 2, 3, 4]);
    expect(asked).toEqual([0, 3]);
  });

  it('stops on an answer without more, and throws an error answer', async () => {
    expect(await replayPages(async () => ({ ok: true, events: [] }), 5)).toEqual([]);
    await expect(replayPages(async () => ({ ok: false, error: 'unknown job' }), 0)).rejects.toThrow('unknown job');
  });

  it('asks a refused page again after 1, 2 and 4 s, keeping the pages already read', async () => {
    const slept: number[] = [];
    const answers: unknown[] = [
      { ok: true, events: [update(1)], more: true },
      { ok: false, error: 'this server is answering 4 replays already: replay again in a moment' },
      { ok: false, error: 'a replay of this connection is still being answered: send the next one after its acknowledgement' },
      { ok: true, events: [update(2)], more: false },
    ];
    const asked: number[] = [];
    const events = await replayPages(async (after) => (asked.push(after), answers.shift()), 0, { sleep: async (ms) => void slept.push(ms) });
    expect(events.map((e) => e.data.sequence)).toEqual([1, 2]);
    expect(asked).toEqual([0, 1, 1, 1]);
    expect(slept).toEqual([1_000, 2_000]);
  });

  it('asks again when the acknowledgement does not come, and gives up after the last pause', async () => {
    const slept: number[] = [];
    let asks = 0;
    const failing = replayPages(
      async () => {
        asks += 1;
        throw new Error('operation has timed out');
      },
      0,
      { sleep: async (ms) => void slept.push(ms) },
    );
    await expect(failing).rejects.toThrow('operation has timed out');
    expect(asks).toBe(4);
    expect(slept).toEqual([1_000, 2_000, 4_000]);
  });

  it('does not ask again for a request the service rejects as such', async () => {
    let asks = 0;
    const refused = replayPages(async () => (asks++, { ok: false, error: 'job 5 not found' }), 0, { sleep: async () => undefined });
    await expect(refused).rejects.toThrow('not found');
    expect(asks).toBe(1);
  });

  it('stops paging once the page that asked is gone', async () => {
    let gone = false;
    const asked: number[] = [];
    const paging = replayPages(
      async (after) => {
        asked.push(after);
        gone = after >= 2; // the page unmounts while the third page is read
        return { ok: true, events: [update(after + 1)], more: after < 10 };
      },
      0,
      { stopped: () => gone },
    );
    await expect(paging).rejects.toBeInstanceOf(ReplayStopped);
    expect(asked).toEqual([0, 1, 2]);
  });

  it('finds the highest sequence among more events than a call takes as arguments', () => {
    const many = Array.from({ length: 200_000 }, (_, i) => update(i + 1));
    expect(highestSequence(7, many)).toBe(200_000);
    expect(highestSequence(7, [])).toBe(7);
  });
});

describe('replayPages keeping the latest events only', () => {
  it('reads every page and keeps the last `keep` events', async () => {
    const page = (from: number, more: boolean) => ({
      ok: true,
      more,
      events: Array.from({ length: 5 }, (_, i) => ({ type: 'job_update', event: 'job_progress', job_id: 'j', data: { sequence: from + i } })),
    });
    const pages: Record<number, unknown> = { 0: page(1, true), 5: page(6, true), 10: page(11, false) };
    const events = await replayPages(async (after) => pages[after], 0, { keep: 7 });
    expect(events.map((e) => e.data.sequence)).toEqual([9, 10, 11, 12, 13, 14, 15]);
  });
});
