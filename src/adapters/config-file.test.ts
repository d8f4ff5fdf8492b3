import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { kernelAvailable } from '../../test/harness/kernel-gate.js';
import { parseConfigText } from '../domain/config.js';
import type { Config } from '../domain/types.js';
import {
  createConfigRenderer,
  prepareConfigFile,
  readConfigFile,
  renderConfigText,
  stableJson,
  writeConfigFile,
} from './config-file.js';

const TEXT = `# porttrigger on the test gateway
interfaces:
  lan: [br-lan]
  wan: [wan0]
mode: standalone
rules:
  # keeps its comment
  - name: game
    trigger: [{ protocol: udp, ports: "5000" }]
    open: [{ protocol: udp, ports: "7000-7010" }]
    idleTimeout: 30
  - name: voice
    trigger: [{ protocol: tcp, ports: "5060" }]
    open: [{ protocol: udp, ports: "16384-16482" }]
    idleTimeout: 120
`;

function parsed(text: string): Config {
  const r = parseConfigText(text);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pt-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('renderConfigText', () => {
  it('gives back the same text when nothing changed', () => {
    expect(renderConfigText(TEXT, parsed(TEXT))).toBe(TEXT);
  });

  it('keeps comments and unchanged rules, and writes a new rule in the compact style', () => {
    const config = parsed(TEXT);
    const next: Config = {
      ...config,
      rules: [
        ...config.rules,
        {
          ...config.rules[0]!,
          name: 'ftp',
          open: [{ protocol: 'tcp', ports: '20' }],
          onExpire: 'close',
          lanHosts: ['192.168.1.0/24'],
        },
      ],
    };
    const text = renderConfigText(TEXT, next);
    expect(text).toContain('# porttrigger on the test gateway');
    expect(text).toContain('  # keeps its comment\n  - name: game');
    expect(text).toContain('    open: [{ protocol: tcp, ports: "20" }]');
    expect(text).toContain('    lanHosts: [192.168.1.0/24]');
    expect(text).toContain('    onExpire: close');
    expect(text).not.toContain('enabled: true');
    expect(parsed(text)).toEqual(next);
  });

  it('rewrites only the rule that changed and removes deleted ones', () => {
    const config = parsed(TEXT);
    const next: Config = { ...config, rules: [{ ...config.rules[1]!, enabled: false }] };
    const text = renderConfigText(TEXT, next);
    expect(text).not.toContain('name: game');
    expect(text).toContain('enabled: false');
    expect(parsed(text)).toEqual(next);
  });

  it('keeps blank lines between rules and quotes names that would not read back as strings', () => {
    const spaced = TEXT.replace('  - name: voice', '\n  - name: voice');
    const config = parsed(spaced);
    const next: Config = {
      ...config,
      rules: [
        ...config.rules,
        { ...config.rules[0]!, name: 'yes', open: [{ protocol: 'udp', ports: '9000' }] },
      ],
    };
    const text = renderConfigText(spaced, next);
    expect(text).toBe(
      `${spaced}\n  - name: "yes"\n    trigger: [{ protocol: udp, ports: "5000" }]\n    open: [{ protocol: udp, ports: "9000" }]\n    idleTimeout: 30\n`,
    );
  });

  it('adds the first rule to an empty flow list and empties a block list as []', () => {
    const empty = 'interfaces:\n  lan: [br-lan]\n  wan: [wan0]\nrules: []\n';
    const config = parsed(TEXT);
    const one: Config = { ...parsed(empty), rules: [config.rules[0]!] };
    expect(parsed(renderConfigText(empty, one))).toEqual(one);
    const none: Config = { ...config, rules: [] };
    const text = renderConfigText(TEXT, none);
    expect(text).toContain('rules: []');
    expect(text).toContain('# porttrigger on the test gateway');
    expect(parsed(text)).toEqual(none);
  });

  it.each(['a: *x\n', 'a: 1\n', 'interfaces: *nope\n'])(
    'writes a fresh file over the invalid text %j',
    (before) => {
      const config = parsed(TEXT);
      expect(parsed(renderConfigText(before, config))).toEqual(config);
    },
  );

  it.each([
    [
      'turns the value of its line, comment kept',
      'enabled: true   # the switch\n',
      'enabled: false   # the switch\n',
    ],
    ['adds the line above the rules when the file has none', '', 'enabled: false\n'],
  ])('switches port triggering off byte for byte: %s', (_, line, expected) => {
    const before = TEXT.replace('rules:\n', `${line}rules:\n`);
    const off = { ...parsed(before), enabled: false };
    const text = renderConfigText(before, off);
    expect(text).toBe(TEXT.replace('rules:\n', `${expected}rules:\n`));
    const renderer = createConfigRenderer();
    renderer.read({ text: before, result: parseConfigText(before) });
    expect(renderer.render(before, off)).toBe(text);
    expect(renderer.render(text, { ...off, enabled: true })).toBe(
      text.replace('enabled: false', 'enabled: true'),
    );
  });

  it('switches a file whose key is not a plain line above the rules through the YAML library', () => {
    for (const before of [`${TEXT}enabled: true\n`, TEXT.replace('mode:', '"enabled": true\nmode:')]) {
      const off = { ...parsed(before), enabled: false };
      const renderer = createConfigRenderer();
      renderer.read({ text: before, result: parseConfigText(before) });
      for (const text of [renderConfigText(before, off), renderer.render(before, off)]) {
        expect(parsed(text)).toEqual(off);
        expect(text).toContain('# keeps its comment');
      }
    }
  });

  it('writes a fresh file when the old text is not a mapping', () => {
    const config = parsed(TEXT);
    expect(parsed(renderConfigText('', config))).toEqual(config);
  });
});

describe('createConfigRenderer', () => {
  const parsed = parseConfigText(TEXT);
  if (!parsed.ok) throw new Error('TEXT is invalid');
  const start = parsed.value;
  const edits: [string, (c: Config) => Config][] = [
    [
      'a disabled rule',
      (c) => ({ ...c, rules: c.rules.map((r, i) => (i === 0 ? { ...r, enabled: false } : r)) }),
    ],
    [
      'an added rule',
      (c) => ({
        ...c,
        rules: [
          ...c.rules,
          {
            ...c.rules[0]!,
            name: `new é ${c.rules.length}`,
            open: [{ protocol: 'tcp', ports: String(9000 + c.rules.length) }],
          },
        ],
      }),
    ],
    ['a deleted rule', (c) => ({ ...c, rules: c.rules.slice(1) })],
    [
      'an edited rule',
      (c) => ({ ...c, rules: c.rules.map((r, i) => (i === 1 ? { ...r, idleTimeout: 7 } : r)) }),
    ],
    ['the global switch', (c) => ({ ...c, enabled: false })],
  ];

  it.each(edits)('writes what renderConfigText writes, change after change: %s', (_, edit) => {
    const { render, read } = createConfigRenderer();
    read({ text: TEXT, result: parsed });
    let text = TEXT;
    let config = start;
    // The same edit twice over: the second one starts from the renderer's own text.
    for (let round = 0; round < 2; round++) {
      const next = edit(config);
      const expected = renderConfigText(text, next);
      text = render(text, next);
      expect(text).toBe(expected);
      const back = parseConfigText(text);
      expect(back.ok && stableJson(back.value)).toBe(stableJson(next));
      config = next;
    }
  });

  it('writes a JSON file in block style from its first change on, so that the next change splices one rule', () => {
    const json = `${JSON.stringify(parseDocument(TEXT).toJSON(), null, 1)}\n`;
    const { render, read } = createConfigRenderer();
    const first = parseConfigText(json);
    if (!first.ok) throw new Error('the JSON text is invalid');
    read({ text: json, result: first });
    const off = {
      ...first.value,
      rules: first.value.rules.map((r, i) => (i === 0 ? { ...r, enabled: false } : r)),
    };
    const once = render(json, off);
    expect(once.trimStart().startsWith('{')).toBe(false);
    expect(once).toMatch(/^rules:\n {2}- /m);
    const back = parseConfigText(once);
    expect(back.ok && stableJson(back.value)).toBe(stableJson(off));
    // The second change leaves every line of the other rule as the first change wrote it.
    const edited = { ...off, rules: off.rules.map((r, i) => (i === 0 ? { ...r, idleTimeout: 31 } : r)) };
    const twice = render(once, edited);
    const voice = (text: string) => text.slice(text.indexOf('name: voice'));
    expect(voice(twice)).toBe(voice(once));
    expect(twice).not.toBe(once);
  });

  it('goes the whole way for a text it did not write or read', () => {
    const { render } = createConfigRenderer();
    const next = { ...start, rules: start.rules.slice(1) };
    expect(render(TEXT, next)).toBe(renderConfigText(TEXT, next));
  });
});

describe('config files', () => {
  it('reads and validates', async () => {
    const path = join(dir, 'config.yaml');
    writeFileSync(path, TEXT);
    const { text, result } = await readConfigFile(path);
    expect(text).toBe(TEXT);
    expect(result.ok).toBe(true);
    await expect(readConfigFile(join(dir, 'missing.yaml'))).rejects.toMatchObject({
      code: 'CONFIG_NOT_FOUND',
    });
    // Something is there but it cannot be read as a file (root reads past permissions, so a directory stands in).
    await expect(readConfigFile(dir)).rejects.toMatchObject({ code: 'CONFIG_READ_FAILED' });
  });

  it('writes atomically, keeps the previous version as .bak and the file mode, and leaves no temp file', async () => {
    const path = join(dir, 'config.yaml');
    writeFileSync(path, TEXT);
    chmodSync(path, 0o640);
    await writeConfigFile(path, 'new: text\n');
    expect(readFileSync(path, 'utf8')).toBe('new: text\n');
    expect(readFileSync(`${path}.bak`, 'utf8')).toBe(TEXT);
    expect(statSync(path).mode & 0o777).toBe(0o640);
    expect(readdirSync(dir).sort()).toEqual(['config.yaml', 'config.yaml.bak']);
  });

  // Changing a file's owner needs root: the same gate as the kernel suites (never skipped in CI).
  it.skipIf(!kernelAvailable).each([
    ['root:nogroup 0664', 0, 65534, 0o664],
    ['nobody:nogroup 0660', 65534, 65534, 0o660],
    ['root:root 0600', 0, 0, 0o600],
  ])('keeps owner, group and mode (%s) of the file and of its .bak', async (_, uid, gid, mode) => {
    const path = join(dir, 'config.yaml');
    writeFileSync(path, TEXT);
    chownSync(path, uid, gid);
    chmodSync(path, mode);
    const umask = process.umask(0o022);
    try {
      await writeConfigFile(path, 'new: text\n');
      await writeConfigFile(path, 'newer: text\n');
    } finally {
      process.umask(umask);
    }
    for (const file of [path, `${path}.bak`]) {
      const s = statSync(file);
      expect({ file, uid: s.uid, gid: s.gid, mode: s.mode & 0o7777 }).toEqual({ file, uid, gid, mode });
    }
    expect(readFileSync(`${path}.bak`, 'utf8')).toBe('new: text\n');
  });

  it('prepares a write without touching the file or its .bak: commit puts it in place, discard drops it', async () => {
    const path = join(dir, 'config.yaml');
    writeFileSync(path, TEXT);
    writeFileSync(`${path}.bak`, 'older: text\n');
    const dropped = await prepareConfigFile(path, 'dropped: text\n');
    expect(readFileSync(path, 'utf8')).toBe(TEXT);
    await dropped.discard();
    expect(readdirSync(dir).sort()).toEqual(['config.yaml', 'config.yaml.bak']);
    expect(readFileSync(`${path}.bak`, 'utf8')).toBe('older: text\n');
    const kept = await prepareConfigFile(path, 'new: text\n');
    expect(readFileSync(path, 'utf8')).toBe(TEXT);
    expect(readFileSync(`${path}.bak`, 'utf8')).toBe('older: text\n');
    await kept.commit();
    expect(readFileSync(path, 'utf8')).toBe('new: text\n');
    expect(readFileSync(`${path}.bak`, 'utf8')).toBe(TEXT);
    expect(readdirSync(dir).sort()).toEqual(['config.yaml', 'config.yaml.bak']);
  });

  it('leaves the file as it was when the write fails', async () => {
    const path = join(dir, 'config.yaml');
    writeFileSync(path, TEXT);
    // A directory where the backup goes makes the write fail after the temp file exists.
    mkdirSync(`${path}.bak`);
    await expect(writeConfigFile(path, 'new: text\n')).rejects.toMatchObject({ code: 'CONFIG_WRITE_FAILED' });
    expect(readFileSync(path, 'utf8')).toBe(TEXT);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(existsSync(path)).toBe(true);
  });

  it('writes through a symlink: the target gets the new text atomically, the link stays a link', async () => {
    const real = join(dir, 'store');
    const etc = join(dir, 'etc');
    mkdirSync(real);
    mkdirSync(etc);
    const target = join(real, 'porttrigger.yaml');
    const link = join(etc, 'config.yaml');
    writeFileSync(target, TEXT);
    chmodSync(target, 0o600);
    symlinkSync('../store/porttrigger.yaml', link);
    await writeConfigFile(link, 'new: text\n');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe('../store/porttrigger.yaml');
    expect(readFileSync(target, 'utf8')).toBe('new: text\n');
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(readFileSync(`${target}.bak`, 'utf8')).toBe(TEXT);
    expect(readdirSync(etc)).toEqual(['config.yaml']);
    expect(readdirSync(real).sort()).toEqual(['porttrigger.yaml', 'porttrigger.yaml.bak']);
  });
});
