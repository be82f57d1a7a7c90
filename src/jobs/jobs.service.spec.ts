import { describe, expect, it } from '@jest/globals';
import { JobsService } from './jobs.service.js';

/**
 * JobsService.submit over stubs: the insert finds the idempotency key taken (ON CONFLICT DO NOTHING),
 * and the job holding it is gone by the time it is read (a finished job deleted meanwhile).
 */
function serviceWhereTheKeyHolderVanishes(conflicts: number) {
  let inserts = 0;
  const jobs = {
    findByIdempotencyKeys: async () => [],
    insert: async (drafts: Array<{ id: string; type: string }>) => {
      inserts += 1;
      return { jobs: inserts <= conflicts ? [] : drafts.map((d) => ({ id: d.id, type: d.type })), events: [] };
    },
  };
  const drafts = { draft: () => ({ id: '0190b1e4-0000-7000-8000-000000000001', type: 'noop', idempotencyKey: 'k-1' }) };
  const lifecycle = { publish: () => undefined };
  const metrics = { jobsSubmitted: { inc: () => undefined } };
  const service = new JobsService(jobs as never, {} as never, {} as never, drafts as never, lifecycle as never, {} as never, metrics as never);
  return { service, inserts: () => inserts };
}

describe('JobsService.submit when the job holding its idempotency_key is deleted as it is stored', () => {
  it('inserts again: the key is free', async () => {
    const { service, inserts } = serviceWhereTheKeyHolderVanishes(1);
    const { job, isNew } = await service.submit({ type: 'noop', idempotency_key: 'k-1' } as never);
    expect(isNew).toBe(true);
    expect(job.job.id).toBe('0190b1e4-0000-7000-8000-000000000001');
    expect(inserts()).toBe(2);
  });

  it('answers a lost race (409, send it again) after three such rounds, never a plain error (500)', async () => {
    const { service } = serviceWhereTheKeyHolderVanishes(10);
    await expect(service.submit({ type: 'noop', idempotency_key: 'k-1' } as never)).rejects.toMatchObject({ code: '40001' });
  });
});
