/**
 * The import arrows of STYLE §2, checked in CI (`npm run lint:deps`). Where the code deliberately
 * differs from STYLE, the rule says so (README "Decisions"): the composition roots (app.module.ts,
 * bootstrap.ts, ports/) wire everything; the LeaderElection port lives with the scheduler and is
 * bound in ports/; the gateway answers `replay` through JobsService; Metrics (health/) is shared.
 */
const ROOTS = '^src/(app\\.module|bootstrap|main|runtime)\\.ts$';

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
      comment: 'STYLE §2: nothing imports scheduler/, executor/ or gateway/ (except the composition roots; ports/ binds the LeaderElection port).',
      from: { path: '^src/', pathNot: [ROOTS, '^src/(scheduler|executor|gateway)/', '^src/ports/'] },
      to: { path: '^src/(scheduler|executor|gateway)/' },
    },
    {
      name: 'ports-only-bind-leader-election',
      severity: 'error',
      comment: 'ports/ may take from scheduler/ only the LeaderElection port and its implementations.',
      from: { path: '^src/ports/' },
      to: { path: '^src/scheduler/', pathNot: '^src/scheduler/(leader-election|pg-advisory-leader-election|single-process-leadership)\\.ts$' },
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
      comment: 'jobs/ (what work exists) does not reach into resources/, dispatch/, ports/ or redis/.',
      from: { path: '^src/jobs/' },
      to: { path: '^src/(resources|dispatch|ports|redis)/' },
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
