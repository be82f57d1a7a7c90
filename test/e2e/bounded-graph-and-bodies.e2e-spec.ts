import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { ConfigError } from '../../src/config/load-config.js';
import { assertUtf8Database, runMigrations } from '../../src/database/prepare-database.js';
import { createTestSpace, expectEventually, startTestApp, type TestApp } from '../support/test-app.js';
import { databaseUrl, runId, TEST_DATABASE_URL } from '../support/test-env.js';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp(await createTestSpace('bounded_graph'), { MAX_BATCH_JOBS: '5000' });
});

afterAll(async () => {
  await app?.close();
});

async function batch(jobs: Array<Record<string, unknown>>): Promise<string[]> {
  const response = await app.post('/jobs/batch', { jobs });
  if (response.status !== 201) throw new Error(`POST /jobs/batch answered ${response.status}: ${JSON.stringify(response.body)}`);
  return response.body.items.map((item: { id: string }) => item.id);
}

describe('GET /jobs/{id}/graph of a job in a component larger than the 20,000 nodes returned', () => {
  it('keeps the job itself and its neighbours, says truncated, and returns only edges between the nodes kept', async () => {
    const [hub] = await batch([{ type: 'noop', delay_ms: 3_600_000 }]);
    const dependents: string[] = [];
    for (const size of [5000, 5000, 5000, 5000, 101]) {
      dependents.push(...(await batch(Array.from({ length: size }, () => ({ type: 'noop', depends_on: [hub] })))));
    }
    const newest = dependents[dependents.length - 1];
    const graph = await app.get(`/jobs/${newest}/graph`);
    expect(graph.status).toBe(200);
    expect(graph.body.truncated).toBe(true);
    expect(graph.body.nodes).toHaveLength(20_000);
    const ids = new Set(graph.body.nodes.map((n: { id: string }) => n.id));
    expect(ids.has(newest)).toBe(true);
    expect(ids.has(hub)).toBe(true);
    expect(graph.body.edges.length).toBeGreaterThan(0);
    for (const edge of graph.body.edges) {
      expect(ids.has(edge.from) && ids.has(edge.to)).toBe(true);
    }
    // A job of a graph within the limit still gets all of it.
    const [a, b] = await batch([{ ref: 'a', type: 'noop', delay_ms: 3_600_000 }, { ref: 'b', type: 'noop', depends_on: ['a'] }]);
    const small = await app.get(`/jobs/${b}/graph`);
    expect(small.body).toMatchObject({ truncated: false, edges: [{ from: a, to: b }] });
    expect(small.body.nodes.map((n: { id: string }) => n.id)).toEqual([a, b]);
  }, 180_000);
});

describe('DELETE takes no body, as cancel, retry and trigger', () => {
  it('DELETE /jobs/{id} with a field in its body is a 400 and deletes nothing', async () => {
    const job = await app.submit({ type: 'noop' });
    await expectEventually(async () => expect((await app.getJob(job.id)).status).toBe('completed'));
    const refused = await app.request('DELETE', `/jobs/${job.id}`, '{"force":true}', { 'content-type': 'application/json' });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ field: 'force' }] });
    expect((await app.get(`/jobs/${job.id}`)).status).toBe(200);
    expect((await app.request('DELETE', `/jobs/${job.id}`, '{}', { 'content-type': 'application/json' })).status).toBe(204);
  });

  it('DELETE /schedules/{key} with a field in its body is a 400 and deletes nothing', async () => {
    const name = `no-body-${randomBytes(3).toString('hex')}`;
    expect((await app.post('/schedules', { name, cron: '0 9 * * *', job: { type: 'noop', payload: {} } })).status).toBe(201);
    const refused = await app.request('DELETE', `/schedules/${name}`, '{"cascade":true}', { 'content-type': 'application/json' });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ field: 'cascade' }] });
    expect((await app.get(`/schedules/${name}`)).status).toBe(200);
    expect((await app.request('DELETE', `/schedules/${name}`)).status).toBe(204);
  });
});

describe('a database whose server_encoding is not UTF8', () => {
  it('is refused at boot, naming DATABASE_URL and the encoding, before any migration', async () => {
    const name = `draconic_test_${runId()}_latin1_${randomBytes(3).toString('hex')}`;
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)} ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`);
      const url = databaseUrl(name);
      const error = await runMigrations(app.config, url).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/^invalid configuration: DATABASE_URL: the database's server_encoding is LATIN1; draconic needs a UTF8 database/);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        expect((await client.query(`SELECT to_regclass('jobs') AS jobs`)).rows[0].jobs).toBeNull();
        await expect(assertUtf8Database(async (sql) => (await client.query(sql)).rows)).rejects.toThrow(/server_encoding is LATIN1/);
      } finally {
        await client.end();
      }
      await expect(runMigrations(app.config, app.config.databaseUrl)).resolves.toEqual([]);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      await admin.end();
    }
  });
});
