import { describe, expect, it } from '@jest/globals';
import Fastify from 'fastify';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { logRequests } from './request-log.js';

function capture() {
  const lines: Array<Record<string, any>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'warn', base: null }, stream), lines };
}

describe(logRequests.name, () => {
  it('logs each 4xx, but only the first refusal of each status in a window, then their count', async () => {
    const { logger, lines } = capture();
    const fastify = Fastify();
    logRequests(fastify, logger, 3_600_000);
    fastify.get('/status/:code', (request, reply) => reply.code(Number((request.params as { code: string }).code)).send({}));
    for (let i = 0; i < 50; i++) await fastify.inject('/status/429');
    for (let i = 0; i < 20; i++) await fastify.inject('/status/503');
    for (let i = 0; i < 3; i++) await fastify.inject('/status/404');
    await fastify.inject('/status/500');
    await fastify.inject('/status/200');
    await fastify.close(); // ends the window
    const summary = (status: number) => lines.filter((l) => l.res.statusCode === status && l.count !== undefined);
    expect(lines.filter((l) => l.res.statusCode === 429 && l.req)).toHaveLength(1);
    expect(summary(429)).toEqual([expect.objectContaining({ level: 40, count: 49, msg: '49 more requests refused with 429, not logged one by one' })]);
    expect(lines.filter((l) => l.res.statusCode === 503 && l.req)).toHaveLength(1);
    expect(lines.find((l) => l.res.statusCode === 503 && l.req)).toMatchObject({ level: 40 });
    expect(summary(503)).toEqual([expect.objectContaining({ level: 40, count: 19 })]);
    expect(lines.filter((l) => l.res.statusCode === 404)).toHaveLength(3);
    expect(lines.filter((l) => l.res.statusCode === 200)).toHaveLength(0);
    // A fault of the service stays an error; a refusal (503 included: shedding load, shutting down) is a warning.
    expect(lines.filter((l) => l.res.statusCode === 500)).toEqual([expect.objectContaining({ level: 50 })]);
  });
});
