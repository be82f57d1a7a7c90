import { describe, expect, it } from '@jest/globals';
import { JobBulkService } from './job-bulk.service.js';

/**
 * POST /jobs/bulk/cancel by a status filter reads each page of matching jobs, then cancels them: a job
 * matched as pending that started meanwhile is not what was asked for.
 */
describe('JobBulkService.cancel by a status filter', () => {
  it('leaves a job that left the status between its page and the cancel', async () => {
    const row = { id: '0190b1e4-0000-7000-8000-000000000001', status: 'running' }; // pending when its page was read
    let pages = 0;
    const bulk = {
      now: async () => new Date(),
      matchPage: async () => (pages++ === 0 ? [{ id: row.id, status: 'pending', createdAt: new Date() }] : []),
      // The guarded cancel as PostgreSQL runs it: from a cancellable state, and only a status named, when statuses are given.
      cancelMany: async (ids: string[], _e: unknown, _m: string, _a: string, _tx: unknown, statuses?: string[] | null) => ({
        jobs: ids.filter(() => !statuses || statuses.includes(row.status)).map((id) => ({ id, status: 'cancelled' })),
        events: [],
      }),
      withDependents: async () => [],
      statusesOf: async () => new Map([[row.id, row.status]]),
    };
    const jobs = { transaction: (work: (tx: unknown) => Promise<unknown>) => work({}) };
    const service = new JobBulkService(jobs as never, bulk as never, {} as never, { publish: () => undefined } as never, {} as never);
    const result = await service.cancel({ filter: { status: ['pending'] } } as never, 'ops');
    expect(result).toMatchObject({ matched: 1, changed: 0, skipped: [{ id: row.id, code: 'CONFLICT' }] });
  });
});
