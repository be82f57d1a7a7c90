import { describe, expect, it } from '@jest/globals';
import { ConfigError, parseConfig } from './load-config.js';

describe(parseConfig.name, () => {
  it('applies every DESIGN §8 default', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      port: 8000,
      role: 'all',
      databaseUrl: undefined,
      redisUrl: undefined,
      maxConcurrentJobs: 10,
      maxCpuUnits: 8,
      maxMemoryMb: 4096,
      defaultJobTimeoutSeconds: 3600,
      retry: { maxAttempts: 3, backoffMultiplier: 2, initialDelayMs: 1000, maxDelayMs: 3_600_000 },
      logLevel: 'info',
      apiKeys: [],
      maxBodyBytes: 1_048_576,
      heartbeatIntervalMs: 2000,
      workerLostSeconds: 15,
      starvationSeconds: 300,
      exportDir: './data/exports',
      mailOutboxDir: './data/outbox',
      smtpUrl: undefined,
      dataFetchAllowPrivate: false,
    });
  });

  it('reads and converts values', () => {
    const config = parseConfig({
      PORT: '9000',
      ROLE: 'worker',
      RETRY_BACKOFF_MULTIPLIER: '1.5',
      DATA_FETCH_ALLOW_PRIVATE: 'true',
      API_KEYS: ' a, b ,,c ',
      DATABASE_URL: 'postgres://u@h:5432/db',
      REDIS_URL: '',
    });
    expect(config).toMatchObject({ port: 9000, role: 'worker', dataFetchAllowPrivate: true, redisUrl: undefined });
    expect(config.apiKeys).toEqual([
      { name: 'key1', key: 'a', role: 'admin' },
      { name: 'key2', key: 'b', role: 'admin' },
      { name: 'key3', key: 'c', role: 'admin' },
    ]);
    expect(config.retry.backoffMultiplier).toBe(1.5);
  });

  it.each([
    ['PORT', 'eighty', /^invalid configuration: PORT="eighty": must be a whole number from 0 to 65535$/],
    ['PORT', '80.5', /^invalid configuration: PORT="80.5": must be a whole number from 0 to 65535$/],
    ['RETRY_BACKOFF_MULTIPLIER', 'x', /RETRY_BACKOFF_MULTIPLIER="x": must be a number from 1 to 100$/],
    ['ROLE', 'boss', /ROLE="boss": must be one of the following values: api, worker, all/],
    ['MAX_CONCURRENT_JOBS', '0', /MAX_CONCURRENT_JOBS=0: must not be less than 1/],
    ['DATABASE_URL', 'mysql://x', /DATABASE_URL="mysql:\/\/x": must be a postgres:\/\/ URL/],
    ['REDIS_URL', 'localhost:6379', /REDIS_URL="localhost:6379": must be a redis:\/\/ or rediss:\/\/ \(TLS\) URL/],
    ['DATA_FETCH_ALLOW_PRIVATE', 'maybe', /DATA_FETCH_ALLOW_PRIVATE="maybe": must be true or false$/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL="loud"/],
    ['METRICS_PORT', '70000', /METRICS_PORT=70000: must not be greater than 65535/],
  ])('stops on a bad %s, naming it', (name, value, message) => {
    expect(() => parseConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => parseConfig({ [name]: value })).toThrow(message);
  });

  it('reads retention: DESIGN §13 defaults, 0 = keep forever, batches of at most 1,000, busy 1..100 %', () => {
    expect(parseConfig({}).retention).toEqual({ completedSeconds: 604_800, failedSeconds: 2_592_000, intervalMs: 60_000, batchSize: 25, pauseMs: 10, busyPercent: 20 });
    expect(() => parseConfig({ RETENTION_BUSY_PERCENT: '0' })).toThrow(/RETENTION_BUSY_PERCENT=0: must not be less than 1/);
    expect(() => parseConfig({ RETENTION_BUSY_PERCENT: '101' })).toThrow(/RETENTION_BUSY_PERCENT/);
    expect(parseConfig({ RETENTION_COMPLETED_SECONDS: '0', RETENTION_FAILED_SECONDS: '0' }).retention).toMatchObject({ completedSeconds: 0, failedSeconds: 0 });
    expect(() => parseConfig({ RETENTION_BATCH_SIZE: '1001' })).toThrow(/RETENTION_BATCH_SIZE/);
    expect(() => parseConfig({ RETENTION_FAILED_SECONDS: '-1' })).toThrow(/RETENTION_FAILED_SECONDS/);
  });

  it('reads WORKER_RETENTION_SECONDS: one day by default, 0 = keep stopped and lost workers forever', () => {
    expect(parseConfig({}).workerRetentionSeconds).toBe(86_400);
    expect(parseConfig({ WORKER_RETENTION_SECONDS: '0' }).workerRetentionSeconds).toBe(0);
    expect(() => parseConfig({ WORKER_RETENTION_SECONDS: '-5' })).toThrow(/WORKER_RETENTION_SECONDS=-5: must not be less than 0/);
  });

  it('gives the health probe 10 s with the embedded database, which is busy rather than gone when slow, unless set', () => {
    expect(parseConfig({}).healthProbe.timeoutMs).toBe(10_000);
    expect(parseConfig({ DATABASE_URL: 'postgres://h/db' }).healthProbe.timeoutMs).toBe(800);
    expect(parseConfig({ HEALTH_PROBE_TIMEOUT_MS: '1500' }).healthProbe.timeoutMs).toBe(1500);
  });

  it('reads METRICS_PORT, empty meaning none', () => {
    expect(parseConfig({ METRICS_PORT: '9464' }).metricsPort).toBe(9464);
    expect(parseConfig({ METRICS_PORT: '' }).metricsPort).toBeUndefined();
    expect(parseConfig({}).metricsPort).toBeUndefined();
  });

  it('refuses heartbeats further apart than a quarter of WORKER_LOST_SECONDS: one failed beat would let the lease lapse', () => {
    expect(() => parseConfig({ HEARTBEAT_INTERVAL_MS: '20000' })).toThrow(/HEARTBEAT_INTERVAL_MS=20000: must be at most a quarter of WORKER_LOST_SECONDS \(15 s\)/);
    expect(() => parseConfig({ HEARTBEAT_INTERVAL_MS: '7500' })).toThrow(ConfigError);
    expect(() => parseConfig({ HEARTBEAT_INTERVAL_MS: '3751' })).toThrow(ConfigError);
    expect(parseConfig({ HEARTBEAT_INTERVAL_MS: '3750' }).heartbeatIntervalMs).toBe(3750);
    expect(parseConfig({ HEARTBEAT_INTERVAL_MS: '10000', WORKER_LOST_SECONDS: '40' }).workerLostSeconds).toBe(40);
    expect(() => parseConfig({ WORKER_LOST_SECONDS: '3' })).toThrow(/raise WORKER_LOST_SECONDS/);
  });

  it('refuses a MAX_BODY_BYTES over 64 MiB, which a request could not be held and stored with, naming the limit', () => {
    expect(parseConfig({ MAX_BODY_BYTES: String(64 * 1024 * 1024) }).maxBodyBytes).toBe(67_108_864);
    expect(() => parseConfig({ MAX_BODY_BYTES: String(64 * 1024 * 1024 + 1) })).toThrow(/MAX_BODY_BYTES=67108865: must not be greater than 67108864 \(64 MiB\)/);
    expect(() => parseConfig({ MAX_BODY_BYTES: String(1024 * 1024 * 1024) })).toThrow(ConfigError);
  });

  it.each(['DB_QUERY_TIMEOUT_MS', 'DB_IDLE_IN_TRANSACTION_TIMEOUT_MS', 'REDIS_SOCKET_TIMEOUT_MS'])(
    'takes %s as 0 (never) or at least 1000 ms: a number of seconds written by mistake is refused, naming the unit',
    (name) => {
      expect(() => parseConfig({ [name]: '30' })).toThrow(new RegExp(`${name}=30: must be 0 \\(never\\) or at least 1000: the value is in milliseconds, not seconds$`));
      expect(() => parseConfig({ [name]: '999' })).toThrow(ConfigError);
      expect(() => parseConfig({ [name]: '-1' })).toThrow(new RegExp(`${name}=-1: must not be less than 0$`));
      expect(() => parseConfig({ [name]: '0' })).not.toThrow();
      expect(() => parseConfig({ [name]: '1000' })).not.toThrow();
      expect(() => parseConfig({})).not.toThrow();
    },
  );

  it('names every bad variable at once', () => {
    try {
      parseConfig({ PORT: '-1', MAX_CPU_UNITS: 'x' });
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect((error as ConfigError).problems).toHaveLength(2);
    }
  });

  it('reads named keys with roles, beside bare admin keys', () => {
    const config = parseConfig({ API_KEYS: 'dash:s3cret-read:read, ci:op-key:operate,root-key' });
    expect(config.apiKeys).toEqual([
      { name: 'dash', key: 's3cret-read', role: 'read' },
      { name: 'ci', key: 'op-key', role: 'operate' },
      { name: 'key3', key: 'root-key', role: 'admin' },
    ]);
  });

  it.each([
    ['a:b', /API_KEYS entry 1: expected "name:key:role" or a bare key/],
    ['ci:k1:owner', /API_KEYS entry 1: the role must be one of read, operate, admin/],
    ['c i:k1:read', /API_KEYS entry 1: the name must be/],
    ['ci:k1:read,ci:k2:admin', /API_KEYS entry 2: the name "ci" is used twice/],
    ['a:k1:read,b:k1:admin', /API_KEYS entry 2: its key is the same as another entry's/],
  ])('refuses API_KEYS=%s without showing a key', (value, message) => {
    let error: unknown;
    try {
      parseConfig({ API_KEYS: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toMatch(/k1|k2/);
  });
});
