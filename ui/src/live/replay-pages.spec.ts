import { describe, expect, it } from '@jest/globals';
import type { JobUpdate } from '../api/types.js';
import { replayPages } from './replay-pages.js';

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
});
