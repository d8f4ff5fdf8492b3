/**
 * The layers of src/, checked on every `npm test` (`npm run check:deps`). Dependencies point inward:
 *   domain  <- model, nft                 pure: no node:* and no I/O
 *   adapters                               talk to the system; implement the ports the domain declares
 *   service                                the running service; receives its adapters
 *   routes                                 the HTTP route table: schemas, operations, status map, token gate
 *   api, panel, cli                        faces: the server, the panel and the CLI's client all use routes
 *   doctor, lab                            features
 *   main                                   the composition root: the only place that wires adapters in
 */
const PURE = '^src/(domain|model|nft)/';
const layer = (name) => `^src/${name}/`;

/** A layer may import only from itself and the layers listed. */
const onlyFrom = (name, allowed, comment) => ({
  name: `${name}-imports`,
  comment,
  severity: 'error',
  from: { path: layer(name) },
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
      comment: 'domain, model and nft are pure: they run anywhere, tests need no system.',
      severity: 'error',
      from: { path: PURE },
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
    onlyFrom('doctor', ['domain', 'nft', 'adapters'], 'The doctor reads the system through adapters.'),
    onlyFrom('lab', ['domain', 'adapters'], 'The lab builds its network through adapters; main runs its service.'),
    onlyFrom('main', ['domain', 'model', 'nft', 'adapters', 'service', 'routes', 'api', 'panel', 'lab', 'doctor'], 'The root wires.'),
    onlyFrom('cli', ['domain', 'nft', 'adapters', 'routes', 'doctor', 'lab', 'main', 'service'], 'The CLI is a face: its client derives from the route table, never the server.'),
    {
      name: 'routes-without-hono-server',
      comment: 'The route table is shared by the CLI: it describes and runs operations, it serves nothing.',
      severity: 'error',
      from: { path: layer('routes') },
      to: { path: ['node_modules/hono/', 'node_modules/@hono/'] },
    },
    {
      name: 'tests-stay-out',
      comment: 'Production code never imports a test file or the test harness.',
      severity: 'error',
      from: { path: '^src/', pathNot: '\\.test\\.ts$' },
      to: { path: ['\\.test\\.ts$', '^test/'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '\\.test\\.ts$' },
  },
};
