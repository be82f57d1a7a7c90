import { describe, expect, it } from '@jest/globals';
import type { JobLog } from '../api/types.js';
import { mergeLogLines } from './log-lines.js';

const line = (id: number): JobLog => ({ id: String(id), timestamp: '2026-01-15T10:00:00.000Z', level: 'info', message: `line ${id}`, attempt: 1, data: null });
const ids = (lines: readonly JobLog[]) => lines.map((l) => Number(l.id));

describe('merging a job’s log lines', () => {
  it('places a line that committed after a higher id was read, instead of dropping it', () => {
    const shown = mergeLogLines([], [line(1), line(3)]);
    // The last page read again: line 2 committed meanwhile (its transaction began first), and line 4 is new.
    expect(ids(mergeLogLines(shown, [line(2), line(3), line(4)]))).toEqual([1, 2, 3, 4]);
  });

  it('keeps each line once, the latest `keep`, and the same list when nothing is new', () => {
    const shown = mergeLogLines([], [line(1), line(2), line(3)]);
    expect(mergeLogLines(shown, [line(2), line(3)])).toBe(shown);
    expect(mergeLogLines(shown, [])).toBe(shown);
    expect(ids(mergeLogLines(shown, [line(4), line(5)], 3))).toEqual([3, 4, 5]);
  });
});
