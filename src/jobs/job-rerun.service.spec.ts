import { describe, expect, it } from '@jest/globals';
import { JobRerunService } from './job-rerun.service.js';

/**
 * The retry of a failed job walks the jobs its failure cancelled downstream, then locks them. Between
 * the two, one of them may be brought back (another retry) and cancelled again by hand: under the locks
 * the walk no longer finds it, and it must stay cancelled.
 */
describe('JobRerunService: the jobs cancelled downstream change while the retry waits for its locks', () => {
  it('starts over instead of bringing back a job cancelled by hand meanwhile', async () => {
    const walks = [['b'], []]; // b: DEPENDENCY_FAILED at the first walk; cancelled by hand at the second
    const moved: string[] = [];
    const reruns = {
      cancelledDownstream: async () => walks.shift() ?? [],
      dependenciesOf: async () => [{ job_id: 'b', depends_on_id: 'a' }],
      lockForUpdate: async (ids: string[]) => ids.map((id) => ({ id, status: id === 'a' ? 'failed' : 'cancelled', allocated: false, run_at: null })),
      moveBack: async (rows: Array<{ id: string; status: string }>) => {
        moved.push(...rows.map((r) => r.id));
        return { jobs: rows.map((r) => ({ id: r.id, status: r.status })), events: [] };
      },
    };
    const service = new JobRerunService({} as never, reruns as never, {} as never);
    const retryIn = (service as unknown as { retryIn(id: string, actor: null, tx: unknown): Promise<unknown> }).retryIn.bind(service);
    await expect(retryIn('a', null, {})).rejects.toMatchObject({ code: '40001' });
    expect(moved).toEqual([]);
  });
});
