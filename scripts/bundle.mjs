// The production build: the three entry points (the CLI, the daemon, the lab's probe agent) bundled by esbuild
// into dist/, with the code they share in dist/chunks/ and every module that loads on first use (the panel,
// the OpenAPI document, the doctor, the lab) in a chunk of its own. One file per part instead of ~270 ES
// modules: Node keeps a module record, its source and its resolution for each. better-sqlite3 stays a package
// (a native module); the panel's static files stay files (src/panel/assets.ts). The C set reader is compiled
// into dist/native/ (scripts/build-native.sh). docs/architecture.md, "Build".
//   node scripts/bundle.mjs
import { execFileSync } from 'node:child_process';
import { chmodSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { build } from 'esbuild';

const ENTRY_POINTS = {
  'cli/main': 'src/cli/main.ts',
  'main/daemon': 'src/main/daemon.ts',
  'lab/probe-agent': 'src/lab/probe-agent.ts',
};
// What the earlier per-file build and the last bundle wrote; dist/bench-build is the bench's own.
const OLD_OUTPUT = ['adapters', 'api', 'chunks', 'cli', 'doctor', 'domain', 'lab', 'main', 'model', 'nft']
  .concat(['panel', 'routes', 'service'])
  .map((dir) => `dist/${dir}`);

/**
 * zod's namespace object carries its messages in 40-odd languages (`z.locales`, 290 KB once bundled), all
 * evaluated at start though only English, its default, is ever used: every issue message porttrigger shows is
 * its own. The locale list resolves to English alone.
 */
const ZOD_ENGLISH_ONLY = {
  name: 'zod-english-only',
  setup(build) {
    const locales = dirname(createRequire(import.meta.url).resolve('zod/v4/locales/en.js'));
    build.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      args.importer.includes('/node_modules/zod/') ? { path: 'zod-locales', namespace: 'zod-english-only' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-english-only' }, () => ({
      contents: "export { default as en } from './en.js';",
      resolveDir: locales,
      loader: 'js',
    }));
  },
};

for (const dir of OLD_OUTPUT) rmSync(dir, { recursive: true, force: true });
await build({
  entryPoints: ENTRY_POINTS,
  outdir: 'dist',
  // dist/chunks/ is two levels below the package root like dist/panel/ was, so paths from import.meta.url hold.
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['better-sqlite3'],
  plugins: [ZOD_ENGLISH_ONLY],
  sourcemap: 'linked',
  // Whitespace and syntax only: names stay, so stack traces in the journal still name our functions.
  minifyWhitespace: true,
  minifySyntax: true,
  // yaml is CommonJS and requires node's modules; an ES module has no `require` of its own.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
for (const entry of Object.keys(ENTRY_POINTS)) chmodSync(`dist/${entry}.js`, 0o755);
// The set reader (dist/native/), compiled when its source changed.
execFileSync('bash', ['scripts/build-native.sh'], { stdio: 'inherit' });
