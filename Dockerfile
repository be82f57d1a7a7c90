# draconic: one image, three roles (ROLE=api|worker|all; docs/design.md §1).
#
#   docker build -t draconic .
#   docker run --init -p 8000:8000 \
#     -e DATABASE_URL=postgres://... -e REDIS_URL=redis://... draconic
#
# Use docker-compose.yml for the full stack (PostgreSQL, Redis, api, workers).

# ---- build: install every dependency, compile, then drop the dev ones ----
FROM node:20-bookworm-slim AS build
WORKDIR /app

# Install dependencies first so that this layer stays cached until the lockfile changes.
# --ignore-scripts: only three packages have install scripts (msgpackr-extract, @parcel/watcher,
# @scarf/scarf); the first two ship prebuilt binaries as optional packages that are loaded at
# run time, the third is telemetry. This also matches npm 11, which skips install scripts unless
# they are approved, while the npm 10 in node:20 would run them.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
COPY migrations ./migrations
COPY ui ./ui
# `npm run build` = rm -rf dist && tsc -p tsconfig.build.json -> dist/src/main.js, dist/migrations/,
# then vite build -> dist/ui (the dashboard, served at /ui/; its packages are devDependencies, bundled here)
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime: production dependencies and compiled code only ----
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=8000
WORKDIR /app

# Code and dependencies stay owned by root (read-only for the app). Only the data
# folder (EXPORT_DIR, MAIL_OUTBOX_DIR and DATA_DIR default under ./data) belongs to
# `node`; a named volume mounted on /app/data starts with this ownership.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /app/data/exports /app/data/outbox \
 && chown -R node:node /app/data

USER node
EXPOSE 8000

# Healthcheck, by role: the api and all roles serve GET /health on PORT (PostgreSQL + Redis,
# Terminus shape). A worker (ROLE=worker) has no HTTP API: with METRICS_PORT set it answers
# GET /health on that port while the process runs, which is probed; without it the check passes
# as long as the container runs (a worker that dies ends its container). docker-compose.yml
# sets both checks explicitly. Node's built-in fetch, because the slim image has no curl or wget.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const e = process.env; const port = e.ROLE === 'worker' ? e.METRICS_PORT : (e.PORT || 8000); if (!port) process.exit(0); fetch('http://127.0.0.1:' + port + '/health', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# Exec form: node is the process that receives SIGTERM (no shell in between), so a worker
# drains its running jobs on `docker stop`. Node as PID 1 gets no default signal handling
# and reaps no zombies, so run it with an init: `init: true` in compose, `--init` with
# `docker run` (both inject Docker's tini). Even without one, the SIGTERM still reaches node,
# because the app handles the signal itself (graceful shutdown, docs/design.md §5: Nest shutdown hooks).
# --max-semi-space-size=64: the young generation V8 collects most often, 4x its default, as in `npm run
# start:prod` (docs/decisions.md: a third of the scavenging time a job).
CMD ["node", "--max-semi-space-size=64", "dist/src/main.js"]
