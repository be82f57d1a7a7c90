import 'reflect-metadata';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { createHttpApp } from '../../src/bootstrap.js';
import type { AppConfig } from '../../src/config/app-config.js';
import { parseConfig } from '../../src/config/load-config.js';
import { databaseUrl, runId, runTempDir, templateDatabase, TEST_DATABASE_URL, TEST_REDIS_URL } from './test-env.js';

export interface TestSpace {
  /** DATABASE_URL of a database cloned from the migrated template. */
  databaseUrl: string;
  /** REDIS_PREFIX of this space: keys and channels nobody else uses. */
  redisPrefix: string;
  /** The base environment of an app or worker in this space. */
  env(extra?: Record<string, string>): Record<string, string>;
}

/** A fresh database (cloned from the run's migrated template) and a fresh Redis prefix. */
export async function createTestSpace(label: string): Promise<TestSpace> {
  const run = runId();
  const suffix = `${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(3).toString('hex')}`;
  const name = `draconic_test_${run}_${suffix}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)} TEMPLATE ${pg.escapeIdentifier(templateDatabase(run))}`);
  } finally {
    await admin.end();
  }
  // Files the built-in job types write go to this run's temp folder (removed at teardown), never into ./data.
  const files = mkdtempSync(join(runTempDir(), `${suffix}-`));
  const space: TestSpace = {
    databaseUrl: databaseUrl(name),
    redisPrefix: `test:${run}:${suffix}`,
    env: (extra = {}) => ({
      DATABASE_URL: space.databaseUrl,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: space.redisPrefix,
      RUN_MIGRATIONS: 'false',
      SHUTDOWN_GRACE_MS: '500',
      EXPORT_DIR: join(files, 'exports'),
      MAIL_OUTBOX_DIR: join(files, 'outbox'),
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      ...extra,
    }),
  };
  return space;
}

export interface JsonResponse<T = any> {
  status: number;
  body: T;
  headers: Record<string, string | string[] | undefined>;
}

export class TestApp {
  constructor(
    readonly app: NestFastifyApplication,
    readonly config: AppConfig,
    readonly baseUrl: string,
  ) {}

  async request<T = any>(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonResponse<T>> {
    const response = await this.app.inject({
      method: method as 'GET',
      url,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    let parsed: unknown = response.body;
    if (String(response.headers['content-type'] ?? '').includes('json') && response.body.length > 0) parsed = response.json();
    return { status: response.statusCode, body: parsed as T, headers: response.headers as JsonResponse['headers'] };
  }

  get<T = any>(url: string, headers?: Record<string, string>) {
    return this.request<T>('GET', url, undefined, headers);
  }

  post<T = any>(url: string, body: unknown, headers?: Record<string, string>) {
    return this.request<T>('POST', url, body, headers);
  }

  patch<T = any>(url: string, body?: unknown, headers?: Record<string, string>) {
    return this.request<T>('PATCH', url, body, headers);
  }

  /** POST /jobs, expecting success. */
  async submit(job: Record<string, unknown>): Promise<any> {
    const response = await this.post('/jobs', job);
    if (response.status !== 201 && response.status !== 200) {
      throw new Error(`POST /jobs answered ${response.status}: ${JSON.stringify(response.body)}`);
    }
    return response.body;
  }

  async getJob(id: string): Promise<any> {
    const response = await this.get(`/jobs/${id}`);
    if (response.status !== 200) throw new Error(`GET /jobs/${id} answered ${response.status}: ${JSON.stringify(response.body)}`);
    return response.body;
  }

  async close(): Promise<void> {
    await this.app.close();
  }
}

/** Boots the real AppModule for a role on Fastify, listening on a free port. */
export async function startTestApp(space: TestSpace, env: Record<string, string> = {}): Promise<TestApp> {
  const config = parseConfig(space.env({ ROLE: 'all', ...env }));
  const app = await createHttpApp(config);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return new TestApp(app, config, `http://127.0.0.1:${port}`);
}

/**
 * The real AppModule in a fresh space, and a session of the space's database beside it: for what a test
 * reads or holds that the API does not show (rows, logs, locks). The caller ends `db` and closes `app`.
 */
export async function startTestAppWithDatabase(label: string, env: Record<string, string> = {}): Promise<{ space: TestSpace; app: TestApp; db: pg.Client }> {
  const space = await createTestSpace(label);
  const app = await startTestApp(space, env);
  const db = new pg.Client({ connectionString: space.databaseUrl });
  await db.connect();
  return { space, app, db };
}

/** Retries an assertion until it passes or the deadline passes (never a bare sleep). */
export async function expectEventually<T>(assertion: () => Promise<T> | T, { timeoutMs = 10_000, intervalMs = 25 } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await assertion();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

export { TEST_REDIS_URL };
