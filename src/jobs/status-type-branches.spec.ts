import { describe, expect, it } from '@jest/globals';
import { JOB_STATUSES } from './domain/job-state.js';
import { branchesOf, TYPES_AS_RANGES } from './status-type-branches.js';

describe(branchesOf.name, () => {
  it('reads one range per status asked, every status when none', () => {
    expect(branchesOf(['failed', 'failed', 'timeout'], undefined)).toEqual({ branches: [{ status: 'failed' }, { status: 'timeout' }], typesInBranches: false });
    expect(branchesOf(undefined, []).branches.map((b) => b.status)).toEqual([...JOB_STATUSES]);
  });

  it('reads one range per status and type when a few types are named, each type once', () => {
    expect(branchesOf(['completed', 'failed'], ['a', 'b', 'a'])).toEqual({
      branches: [
        { status: 'completed', type: 'a' },
        { status: 'completed', type: 'b' },
        { status: 'failed', type: 'a' },
        { status: 'failed', type: 'b' },
      ],
      typesInBranches: true,
    });
    expect(branchesOf(undefined, ['a']).branches).toHaveLength(JOB_STATUSES.length);
  });

  it('filters within each status’s range past TYPES_AS_RANGES types', () => {
    const many = Array.from({ length: TYPES_AS_RANGES + 1 }, (_, i) => `t${i}`);
    expect(branchesOf(['completed'], many)).toEqual({ branches: [{ status: 'completed' }], typesInBranches: false });
  });
});
