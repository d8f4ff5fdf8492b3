// Prints debian/copyright (machine-readable format 1.0, DEP-5) for the package tree: porttrigger itself, then
// every bundled npm package under usr/lib/porttrigger/node_modules with the copyright lines of its LICENSE file
// and the licence of its package.json, then the text of each licence once.
//   node scripts/deb/copyright.mjs PACKAGE_ROOT
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const LIB = 'usr/lib/porttrigger';
const root = process.argv[2];
if (!root) {
  console.error('usage: copyright.mjs PACKAGE_ROOT');
  process.exit(2);
}
const modules = join(root, LIB, 'node_modules');

/** Licences named by their text when a package.json has no licence field. */
const BY_TEXT = [
  [/BSD Zero Clause|Zero-Clause BSD/i, '0BSD'],
  [/^MIT License/i, 'MIT'],
  [/^ISC License/i, 'ISC'],
];
const LICENCE_FILE = /^(licen[cs]e|copying)(\.md|\.txt)?$/i;
const MIT_TEXT = `Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction, including
without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do so, subject to the following
conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial portions
of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED
TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL
THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF
CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER
DEALINGS IN THE SOFTWARE.`;

function packageDirs(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    if (name.startsWith('.')) return [];
    const path = join(dir, name);
    if (name.startsWith('@')) return packageDirs(path);
    return [path, ...packageDirs(join(path, 'node_modules'))];
  });
}

function licenceText(dir) {
  const file = readdirSync(dir).find((name) => LICENCE_FILE.test(name));
  return file ? readFileSync(join(dir, file), 'utf8') : '';
}

/** A DEP-5 multi-line value: every line indented, empty lines as " .". */
function block(text) {
  return text
    .trim()
    .split('\n')
    .map((line) => (line.trim() === '' ? ' .' : ` ${line.trimEnd()}`))
    .join('\n');
}

const texts = new Map([['MIT', MIT_TEXT]]);
const paragraphs = [];
for (const dir of packageDirs(modules).sort()) {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const text = licenceText(dir);
  const licence =
    (typeof manifest.license === 'string' ? manifest.license : manifest.license?.type) ??
    BY_TEXT.find(([pattern]) => pattern.test(text.trim()))?.[1];
  if (!licence) throw new Error(`${manifest.name}: no licence in package.json nor a known LICENSE text`);
  const holders = text
    .split('\n')
    .map((line) => line.replace(/&lt;/g, '<').replace(/&gt;/g, '>').trim())
    .filter((line) => /^copyright\b/i.test(line) && !/notice/i.test(line));
  const author = typeof manifest.author === 'string' ? manifest.author : manifest.author?.name;
  const copyright = holders.length > 0 ? holders : [author ?? `the ${manifest.name} authors`];
  if (!texts.has(licence)) {
    const body = text
      .split('\n')
      .filter((line) => !/^\s*copyright\b/i.test(line))
      .join('\n')
      .replace(/^[^\n]*(licen[cs]e|BSD)[^\n]*\n[=\s]*\n/i, '');
    texts.set(licence, body);
  }
  const files = `${LIB}/${dir.slice(join(root, LIB).length + 1)}/*`;
  paragraphs.push(
    `Files: ${files}\nCopyright: ${copyright.join('\n ')}\nLicense: ${licence}\nComment: ${manifest.name} ${manifest.version}`,
  );
}
if (existsSync(join(modules, 'better-sqlite3'))) {
  paragraphs.push(
    `Files: ${LIB}/node_modules/better-sqlite3/build/Release/better_sqlite3.node\n` +
      'Copyright: 2017 Joshua Wise (better-sqlite3); SQLite by D. Richard Hipp and contributors\n' +
      'License: MIT and public-domain\n' +
      'Comment: the compiled module contains the SQLite library, which is in the public domain.',
  );
  texts.set('public-domain', 'The author disclaims copyright to this source code (SQLite).');
}

const out = [
  'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: porttrigger\n' +
    'Source: https://github.com/porttrigger/porttrigger',
  'Files: *\nCopyright: the porttrigger authors\nLicense: MIT',
  ...paragraphs,
  ...[...texts].map(([name, text]) => `License: ${name}\n${block(text)}`),
];
process.stdout.write(`${out.join('\n\n')}\n`);
