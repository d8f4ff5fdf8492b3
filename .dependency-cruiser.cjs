/**
 * The layers of src/, checked on every `npm test` (`npm run check:deps`), test files included. Dependencies
 * point inward:
 *   domain  <- model, nft                 pure: no node:* and no I/O; the domain declares the ports
 *   adapters                               talk to the system; implement the ports the domain declares
 *   service                                the running service; receives its adapters
 *   routes                                 the HTTP route table: schemas, operations, status map, token gate
 *   api, panel, cli                        faces: the server, the panel and the CLI's client all use routes
 *   doctor, lab                            features: they are handed their adapters
 *   main                                   the composition root: the only place that builds adapters
 * A test file is the root of its own little program: it may wire adapters into the layer it tests.
 */
const PURE = '^src/(domain|model|nft)/';
const TEST = '\\.test\\.tsx?$';
const layer = (name) => `^src/${name}/`;

/** A layer's code (its tests aside) may import only from itself and the layers listed. */
const onlyFrom = (name, allowed, comment) => ({
  name: `${name}-imports`,
  comment,
  severity: 'error',
  from: { path: layer(name), pathNot: TEST },
  to: { path: '^src/', pathNot: [layer(name), ...allowed.map(layer)] },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Import cycles make layers meaningless.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'pure-no-node',
      comment: 'domain, model and nft are pure: they run anywhere (their tests may read fixture files).',
      severity: 'error',
      from: { path: PURE, pathNot: TEST },
      to: { dependencyTypes: ['core'] },
    },
    onlyFrom('domain', [], 'The domain depends on nothing of ours.'),
    onlyFrom('model', ['domain'], 'The reference model states the semantics from the domain alone.'),
    onlyFrom('nft', ['domain'], 'The compiler turns domain values into text and back.'),
    onlyFrom('adapters', ['domain', 'nft'], 'Adapters implement ports; they know no feature and no face.'),
    onlyFrom('service', ['domain', 'nft'], 'The service receives its adapters from the composition root.'),
    onlyFrom('routes', ['domain', 'service'], 'The route table speaks for the service; every HTTP face uses it.'),
    onlyFrom('api', ['domain', 'service', 'routes'], 'The server registers the route table; it is handed what it needs.'),
    onlyFrom('panel', ['domain', 'service', 'routes'], 'The panel is a face like the API: the table\'s operations, no server.'),
    onlyFrom('doctor', ['domain', 'nft'], 'The doctor reads the system through the runners it is handed.'),
    onlyFrom('lab', ['domain'], 'The lab builds its network with the process runner it is handed.'),
    onlyFrom(
      'main',
      ['domain', 'model', 'nft', 'adapters', 'service', 'routes', 'api', 'panel', 'lab', 'doctor', 'cli'],
      'The root wires.',
    ),
    onlyFrom(
      'cli',
      ['domain', 'nft', 'routes', 'service', 'doctor', 'lab', 'main'],
      'The CLI is a face: its client derives from the route table, never the server.',
    ),
    {
      name: 'routes-without-hono-server',
      comment: 'The route table is shared by the CLI: it describes and runs operations, it serves nothing.',
      severity: 'error',
      from: { path: layer('routes') },
      to: { path: ['node_modules/hono/', 'node_modules/@hono/'] },
    },
    {
      name: 'cli-handed-its-system',
      comment:
        'The commands use what the composition root hands them (CliContext.system); only the entry point ' +
        'src/cli/main.ts builds it, everything else names its types at most.',
      severity: 'error',
      from: { path: '^src/cli/', pathNot: ['^src/cli/main\\.ts$', TEST] },
      to: { path: ['^src/main/', '^src/adapters/'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'feature-code-no-process',
      comment: 'The doctor and the lab start no program themselves: their runners are handed in.',
      severity: 'error',
      from: { path: '^src/(doctor|lab)/', pathNot: ['^src/lab/probe-(agent|client)\\.ts$', TEST] },
      to: { path: '^(node:)?child_process$', dependencyTypes: ['core'] },
    },
    {
      name: 'tests-stay-out',
      comment: 'Production code never imports a test file or the test harness.',
      severity: 'error',
      from: { path: '^src/', pathNot: TEST },
      to: { path: [TEST, '^test/'] },
    },
    {
      name: 'pure-tests-stay-pure',
      comment: 'Tests of domain, model and nft need no system: no adapter, no service, no wiring, no network.',
      severity: 'error',
      from: { path: `${PURE}.*${TEST}` },
      to: { path: '^src/(adapters|service|main|lab)/' },
    },
    {
      name: 'tests-import-no-tests',
      comment: 'A test file is imported by nobody: shared setup lives in a fixture module under test/.',
      severity: 'error',
      from: {},
      to: { path: TEST },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
