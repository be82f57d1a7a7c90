/**
 * The import arrows of STYLE §2, checked in CI (`npm run lint:deps`). The composition roots
 * (app.module.ts, ports.module.ts, bootstrap.ts, main.ts, runtime.ts) wire everything. Each port
 * lives with its implementations (events/, dispatch/, leadership/); Metrics (metrics/) is shared.
 */
const ROOTS = '^src/(app\\.module|ports\\.module|bootstrap|main|runtime)\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle between files makes boot order and testing brittle.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'nothing-imports-the-engine-edges',
      severity: 'error',
      comment: 'STYLE §2: nothing imports scheduler/, executor/ or gateway/ (except the composition roots).',
      from: { path: '^src/', pathNot: [ROOTS, '^src/(scheduler|executor|gateway)/'] },
      to: { path: '^src/(scheduler|executor|gateway)/' },
    },
    {
      name: 'engine-edges-stay-apart',
      severity: 'error',
      comment: 'scheduler/, executor/ and gateway/ talk through jobs/, resources/ and the ports, never to each other.',
      from: { path: '^src/(scheduler|executor|gateway)/' },
      to: { path: '^src/(scheduler|executor|gateway)/', pathNot: '^src/$1/' },
    },
    {
      name: 'resources-never-jobs',
      severity: 'error',
      comment:
        'STYLE §2: resources/ (where work fits: workers, placements, the allocation ledger, GET /workers) imports at most events/, common/, database/ and config/; never jobs/. What it shares with jobs/ (the ready order, the leadership fence) lives in database/.',
      from: { path: '^src/resources/' },
      to: { path: '^src/', pathNot: '^src/(resources|events|common|database|config)/' },
    },
    {
      name: 'jobs-know-no-infrastructure-edges',
      severity: 'error',
      comment: 'jobs/ (what work exists) does not reach into resources/, dispatch/, leadership/ or redis/.',
      from: { path: '^src/jobs/' },
      to: { path: '^src/(resources|dispatch|leadership|redis)/' },
    },
    {
      name: 'config-imports-nothing',
      severity: 'error',
      comment: 'STYLE §2: config/ is the only reader of process.env and imports no other folder.',
      from: { path: '^src/config/' },
      to: { path: '^src/', pathNot: '^src/config/' },
    },
    {
      name: 'common-at-most-config',
      severity: 'error',
      comment: 'STYLE §2: common/ imports at most config/.',
      from: { path: '^src/common/' },
      to: { path: '^src/', pathNot: '^src/(common|config)/' },
    },
    {
      name: 'events-at-most-config',
      severity: 'error',
      comment: 'STYLE §2: events/ imports at most config/.',
      from: { path: '^src/events/' },
      to: { path: '^src/', pathNot: '^src/(events|config)/' },
    },
    {
      name: 'leadership-at-most-config',
      severity: 'error',
      comment: 'leadership/ (the LeaderElection port and its implementations) imports at most config/.',
      from: { path: '^src/leadership/' },
      to: { path: '^src/', pathNot: '^src/(leadership|config)/' },
    },
    {
      name: 'dispatch-knows-only-job-types',
      severity: 'error',
      comment: 'dispatch/ (the JobDispatcher port) carries jobs without looking into them: besides config/ and redis/ it takes only the types of jobs/job-row.ts.',
      from: { path: '^src/dispatch/' },
      to: { path: '^src/', pathNot: ['^src/(dispatch|config|redis)/', '^src/jobs/job-row\\.ts$'] },
    },
    {
      name: 'dispatch-needs-no-jobs-code',
      severity: 'error',
      comment: 'dispatch/ imports the job types type-only: no code of jobs/ runs in it.',
      from: { path: '^src/dispatch/' },
      to: { path: '^src/jobs/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'metrics-imports-nothing',
      severity: 'error',
      comment: 'metrics/ (every Prometheus metric, shared by all folders) imports no other folder.',
      from: { path: '^src/metrics/' },
      to: { path: '^src/', pathNot: '^src/metrics/' },
    },
    {
      name: 'gateway-reads-events',
      severity: 'error',
      comment: 'STYLE §2: gateway/ maps bus events to Socket.IO and replays from the JobEventLog port: it imports events/ (and common/, config/, redis/), never jobs/.',
      from: { path: '^src/gateway/' },
      to: { path: '^src/', pathNot: '^src/(gateway|events|common|config|redis)/' },
    },
    {
      name: 'domain-is-pure',
      severity: 'error',
      comment: 'STYLE §2: */domain/ holds pure functions and types: only other domain files, no frameworks or I/O.',
      from: { path: '^src/[^/]+/domain/' },
      to: { pathNot: '^src/[^/]+/domain/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-dev-dependencies-at-run-time',
      severity: 'error',
      comment: 'devDependencies (jest, autocannon, the bench\'s BullMQ reference, ...) are not installed in production: src/ must not need them.',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.spec\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
  },
};
