/**
 * The dashboard (DESIGN §14): the single-page app built by `npm run build` into dist/ui, served at
 * /ui/ by every process that serves HTTP (embedded included). Its files are hashed assets
 * (cached for a year) and one index.html (never cached) answered for every page under /ui/, so a
 * reload of /ui/jobs/<id> works. `/` redirects to it.
 */
import fastifyStatic from '@fastify/static';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply } from 'fastify';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DASHBOARD_NOT_BUILT } from '../common/domain/error-codes.js';

/** Where `GET /` sends a browser. */
export const ROOT_REDIRECT = '/ui/';

/** dist/ui from the compiled file (dist/src/ui) or from the source (src/ui, as the tests run it). */
export function dashboardRoot(): string | null {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, '../../ui'), resolve(here, '../../dist/ui')];
  // A built folder has its assets beside index.html (the source folder ui/ has an index.html too).
  return candidates.find((dir) => existsSync(join(dir, 'index.html')) && existsSync(join(dir, 'assets'))) ?? null;
}

export async function registerDashboard(app: NestFastifyApplication, root = dashboardRoot()): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  fastify.get('/', (_request, reply) => reply.redirect(ROOT_REDIRECT, 302));
  if (root === null) {
    const notBuilt = (_request: unknown, reply: FastifyReply) =>
      reply.code(404).send({ statusCode: 404, error: 'Not Found', code: DASHBOARD_NOT_BUILT, message: 'the dashboard was not built: run npm run build' });
    fastify.get('/ui/', notBuilt);
    fastify.get('/ui/*', notBuilt);
    return;
  }
  const index = readFileSync(join(root, 'index.html'));
  await app.register(fastifyStatic, {
    root: join(root, 'assets'),
    prefix: '/ui/assets/',
    decorateReply: false,
    immutable: true,
    maxAge: '365d',
    index: false,
  });
  const page = (_request: unknown, reply: FastifyReply) =>
    reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(index);
  fastify.get('/ui/', page);
  fastify.get('/ui/*', page);
}
