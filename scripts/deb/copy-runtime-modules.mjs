// Copies the packages porttrigger needs at run time from node_modules into the package tree, and nothing else:
// the production dependency graph read from each package.json, without what only installs or builds
// (prebuild-install fetches a prebuilt better-sqlite3 at `npm install`; at run time the .node file is there),
// without source maps and type declarations. Prints one shipped package directory a line.
//   node scripts/deb/copy-runtime-modules.mjs FROM_ROOT TO_ROOT
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** Dependencies needed only while installing or building, never by the running service. */
const BUILD_ONLY = new Set(['prebuild-install']);
/** Files no running program reads. */
const DROPPED_FILE = /\.(map|d\.ts|d\.mts|d\.cts|tsbuildinfo)$/;
/** better-sqlite3's sources and build files: of its build tree only the compiled module loads. */
const DROPPED_TREES = new Set(['node_modules/better-sqlite3/deps', 'node_modules/better-sqlite3/src']);
const NATIVE_BUILD = 'node_modules/better-sqlite3/build';
const NATIVE_KEPT = new Set([NATIVE_BUILD, `${NATIVE_BUILD}/Release`, `${NATIVE_BUILD}/Release/better_sqlite3.node`]);

const [from, to] = process.argv.slice(2);
if (!from || !to) {
  console.error('usage: copy-runtime-modules.mjs FROM_ROOT TO_ROOT');
  process.exit(2);
}

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

/** Node's lookup: node_modules/NAME in the requiring package's directory, then in each directory above it. */
function resolvePackage(name, fromDir) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === from || dirname(dir) === dir) break;
  }
  throw new Error(`cannot find ${name} (needed by ${relative(from, fromDir) || 'porttrigger'})`);
}

const shipped = new Set();
const pending = [from];
while (pending.length > 0) {
  const dir = pending.pop();
  const manifest = readJson(join(dir, 'package.json'));
  const names = [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.optionalDependencies ?? {})];
  for (const name of names) {
    if (BUILD_ONLY.has(name)) continue;
    let target;
    try {
      target = resolvePackage(name, dir);
    } catch (error) {
      if (name in (manifest.optionalDependencies ?? {})) continue;
      throw error;
    }
    if (shipped.has(target)) continue;
    shipped.add(target);
    pending.push(target);
  }
}

for (const dir of [...shipped].sort()) {
  const rel = relative(from, dir);
  cpSync(dir, join(to, rel), {
    recursive: true,
    preserveTimestamps: true,
    filter: (source) => {
      const inner = relative(from, source);
      // Nested node_modules are copied as packages of their own, if the graph needs them.
      if (inner !== rel && relative(dir, source).split('/').includes('node_modules')) return false;
      if (DROPPED_TREES.has(inner) || inner === 'node_modules/better-sqlite3/binding.gyp') return false;
      if (inner.startsWith(`${NATIVE_BUILD}`) && !NATIVE_KEPT.has(inner)) return false;
      return !DROPPED_FILE.test(source);
    },
  });
  console.log(rel);
}
