/**
 * `npm run package` builds a Debian package that installs on this machine, runs, passes systemd's unit checks
 * and purges without a trace. It installs into the real system (root), so it refuses to run over an
 * existing porttrigger installation rather than remove someone's.
 */
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { expect, it } from 'vitest';
import { describeKernel } from '../harness/kernel-gate.js';

// dpkg-query's format fields look like template placeholders, but they are dpkg's own syntax.
const STATUS_FORMAT = '-f=$' + '{Status}';
const CONFFILES_FORMAT = '--showformat=$' + '{Conffiles}';
const ROOT = new URL('../../', import.meta.url).pathname;
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const LEFT_BEHIND = [
  '/usr/lib/porttrigger',
  '/usr/bin/porttrigger',
  '/etc/porttrigger',
  '/var/lib/porttrigger',
  '/lib/systemd/system/porttrigger.service',
  '/usr/share/doc/porttrigger',
  '/usr/share/man/man8/porttrigger.8.gz',
];

/** Runs a program with an argument array; resolves with its exit code and output, whatever the code. */
function run(program: string, args: readonly string[], timeoutMs = 60_000) {
  return new Promise<{ exitCode: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      program,
      args,
      { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ exitCode: code, stdout, stderr: stderr || (error && code === -1 ? error.message : '') });
      },
    );
  });
}

describeKernel('the Debian package', () => {
  it('builds, installs with dpkg -i, runs, passes systemd-analyze verify and purges without a trace', async () => {
    const installed = await run('dpkg-query', ['-W', STATUS_FORMAT, 'porttrigger']);
    if (installed.exitCode === 0 && installed.stdout.includes('installed')) {
      throw new Error(
        'porttrigger is installed on this machine already: this test will not replace or remove it',
      );
    }
    for (const path of LEFT_BEHIND) {
      if (existsSync(path))
        throw new Error(`${path} exists before the install: this test will not remove it`);
    }

    const built = await run('bash', [join(ROOT, 'scripts/package-deb.sh')], 240_000);
    expect(built.exitCode, built.stderr).toBe(0);
    const deb = join(ROOT, built.stdout.trim().split('\n').pop()!);
    const arch = (await run('dpkg', ['--print-architecture'])).stdout.trim();
    expect(deb).toMatch(new RegExp(`porttrigger_${VERSION}_${arch}\\.deb$`));
    const field = async (name: string) => (await run('dpkg-deb', ['-f', deb, name])).stdout.trim();
    expect(await field('Depends')).toBe('nodejs (>= 20), nftables, conntrack, iproute2, libnftnl11, libmnl0');
    expect(await field('Architecture')).toBe(arch);
    expect((await run('dpkg-deb', ['--info', deb, 'conffiles'])).stdout.trim()).toBe(
      '/etc/porttrigger/config.yaml',
    );

    try {
      const install = await run('dpkg', ['-i', deb], 120_000);
      expect(install.exitCode, install.stderr).toBe(0);
      expect(lstatSync('/usr/bin/porttrigger').isSymbolicLink()).toBe(true);
      expect(readlinkSync('/usr/bin/porttrigger')).toBe('../lib/porttrigger/dist/cli/main.js');
      const version = await run('/usr/bin/porttrigger', ['--version']);
      expect(version.stdout.trim()).toBe(`porttrigger ${VERSION}`);
      // The installed config is valid as it ships (commented examples, no rule), and is a conffile.
      expect(readFileSync('/etc/porttrigger/config.yaml', 'utf8')).toBe(
        readFileSync(join(ROOT, 'contrib/config.yaml'), 'utf8'),
      );
      expect((await run('/usr/bin/porttrigger', ['validate', '/etc/porttrigger/config.yaml'])).exitCode).toBe(
        0,
      );
      expect((await run('dpkg-query', [CONFFILES_FORMAT, '-W', 'porttrigger'])).stdout).toContain(
        '/etc/porttrigger/config.yaml',
      );
      // The native SQLite module loads: the package is for this architecture.
      const sqlite = await run('node', [
        '-e',
        "require('/usr/lib/porttrigger/node_modules/better-sqlite3')(':memory:').close()",
      ]);
      expect(sqlite.exitCode, sqlite.stderr).toBe(0);
      expect(existsSync('/usr/lib/porttrigger/node_modules/vitest')).toBe(false);
      expect(existsSync('/usr/lib/porttrigger/node_modules/prebuild-install')).toBe(false);
      expect(existsSync('/usr/lib/porttrigger/src/panel/static/panel.js')).toBe(true);
      // The set reader ships and runs with the libraries the package depends on: it reads our table of this
      // machine's namespace, or finds none (exit 3).
      const reader = await run('/usr/lib/porttrigger/dist/native/porttrigger-set-reader', [
        'inet',
        'porttrigger',
      ]);
      expect([0, 3], reader.stderr).toContain(reader.exitCode);
      // The bundle ships (scripts/bundle.mjs): shared chunks, not one file per source module.
      expect(readdirSync('/usr/lib/porttrigger/dist/chunks').some((f) => f.endsWith('.js'))).toBe(true);
      expect(existsSync('/usr/lib/porttrigger/dist/service')).toBe(false);
      // porttrigger(8) is made from the CLI's help: every command has its section.
      const man = gunzipSync(readFileSync('/usr/share/man/man8/porttrigger.8.gz')).toString('utf8');
      expect(man).toMatch(/^\.TH PORTTRIGGER 8 /);
      for (const command of ['validate', 'run', 'status', 'rules', 'doctor']) {
        expect(man).toContain(`.SS ${command}\n`);
      }
      expect(man).toContain('\\-\\-keep\\-table\\-if FILE');
      const verify = await run('systemd-analyze', ['verify', '/lib/systemd/system/porttrigger.service']);
      expect(verify.exitCode, verify.stderr).toBe(0);
      expect(verify.stderr).not.toMatch(/porttrigger\.service/);
    } finally {
      // What a running service leaves (token, history) must go on purge too.
      await run('mkdir', ['-p', '-m', '0700', '/var/lib/porttrigger']);
      await run('touch', ['/var/lib/porttrigger/api-token', '/var/lib/porttrigger/events.db']);
      const purge = await run('dpkg', ['--purge', 'porttrigger'], 120_000);
      expect(purge.exitCode, purge.stderr).toBe(0);
    }
    for (const path of LEFT_BEHIND) expect(existsSync(path), `${path} is left behind`).toBe(false);
    expect((await run('dpkg-query', ['-W', STATUS_FORMAT, 'porttrigger'])).stdout).not.toContain('installed');
  }, 480_000);
});
