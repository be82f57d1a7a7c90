import { Job } from '../entities/job.entity.js';
import { JobResponseDto, jobResponseJson } from './job-response.dto.js';

const at = (s: string) => new Date(s);

function job(overrides: Partial<Job>): Job {
  return Object.assign(new Job(), {
    id: '019ac4a2-6f1e-7c3a-9d4e-2b8f0a1c3d5e',
    type: 'noop',
    priority: 'normal',
    status: 'ready',
    payload: {},
    cpuUnits: 1,
    memoryMb: 128,
    maxAttempts: 3,
    backoffMultiplier: 2,
    initialDelayMs: 1000,
    maxDelayMs: 3_600_000,
    timeoutSeconds: 3600,
    idempotencyKey: null,
    concurrencyKey: null,
    ref: null,
    attempts: 0,
    attemptBase: 0,
    pendingDependencies: 0,
    result: null,
    error: null,
    waitingReason: null,
    workerId: null,
    allocated: false,
    placedAt: null,
    queuedAt: null,
    eventSeq: 1,
    createdAt: at('2026-01-02T03:04:05.678Z'),
    updatedAt: at('2026-01-02T03:04:05.678Z'),
    startedAt: null,
    completedAt: null,
    nextRunAt: null,
    runAt: null,
    scheduleId: null,
    scheduledFor: null,
    ...overrides,
  } satisfies Job);
}

describe(jobResponseJson.name, () => {
  const cases: Array<[string, Job, { dependsOn: string[]; dependents: string[] }]> = [
    ['a fresh job without edges', job({}), { dependsOn: [], dependents: [] }],
    [
      'every field set, strings that need escaping',
      job({
        type: 'send_email',
        priority: 'critical',
        status: 'failed',
        payload: { to: 'a"b@example.com', nested: { list: [1, 'two', null, true], text: 'line\nbreak\\ \u2028 é' } },
        cpuUnits: 4,
        memoryMb: 2048,
        maxAttempts: 7,
        backoffMultiplier: 1.5,
        initialDelayMs: 0,
        maxDelayMs: 86_400_000,
        timeoutSeconds: 31_536_000,
        idempotencyKey: 'key "quoted" \\ \t',
        concurrencyKey: 'tenant/42',
        ref: 'fetch:1',
        attempts: 7,
        result: { rows: [{ a: 1 }], note: 'ünïcode' },
        error: { code: 'HANDLER_ERROR', message: 'boom "x"', root_id: 'r' },
        waitingReason: { code: 'SCHEDULED', message: 'until later', until: '2030-01-01T00:00:00.000Z' },
        workerId: 'worker-1',
        startedAt: at('2026-01-02T03:04:06.000Z'),
        completedAt: at('2026-01-02T03:04:07.001Z'),
        nextRunAt: at('2030-01-01T00:00:00.000Z'),
        runAt: at('2030-01-01T00:00:00.000Z'),
        scheduleId: '019ac4a2-0000-7000-8000-000000000001',
        scheduledFor: at('2026-01-02T03:00:00.000Z'),
      }),
      {
        dependsOn: ['019ac4a2-0000-7000-8000-000000000002', '019ac4a2-0000-7000-8000-000000000003'],
        dependents: ['019ac4a2-0000-7000-8000-000000000004'],
      },
    ],
    [
      'no optional field: the ones a job may lack undefined, the others null',
      job({ concurrencyKey: undefined, result: undefined, runAt: undefined, scheduleId: undefined, scheduledFor: undefined }),
      { dependsOn: [], dependents: [] },
    ],
    ['a result that is a bare string', job({ status: 'completed', result: 'done' }), { dependsOn: [], dependents: [] }],
    ['a result that is a number', job({ status: 'completed', result: 0 }), { dependsOn: [], dependents: [] }],
  ];

  it.each(cases)('writes what JSON.stringify(JobResponseDto.from()) writes: %s', (_name, entity, edges) => {
    expect(jobResponseJson(entity, edges)).toBe(JSON.stringify(JobResponseDto.from(entity, edges)));
  });

  it('writes valid JSON with every field of the DTO', () => {
    const [, entity, edges] = cases[1]!;
    const parsed = JSON.parse(jobResponseJson(entity, edges)) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(Object.keys(JobResponseDto.from(entity, edges)));
    expect(parsed.idempotency_key).toBe('key "quoted" \\ \t');
  });

  it('writes null, never leaves out, a field the job lacks', () => {
    const [, entity, edges] = cases[2]!;
    const dto = JobResponseDto.from(entity, edges) as unknown as Record<string, unknown>;
    const parsed = JSON.parse(jobResponseJson(entity, edges)) as Record<string, unknown>;
    for (const name of ['concurrency_key', 'result', 'run_at', 'schedule_id', 'scheduled_for', 'started_at', 'error', 'worker_id']) {
      expect(dto[name]).toBeNull();
      expect(parsed[name]).toBeNull();
    }
    const [, full, fullEdges] = cases[1]!;
    expect(Object.keys(parsed)).toEqual(Object.keys(JobResponseDto.from(full, fullEdges)));
  });
});
