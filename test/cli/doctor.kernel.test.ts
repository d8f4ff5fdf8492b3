import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runProgram } from '../../src/adapters/exec.js';
import type { DoctorCheck } from '../../src/doctor/doctor.js';
import { parseConfigText } from '../../src/domain/config.js';
import type { Config } from '../../src/domain/types.js';
import { labConfigText } from '../../src/lab/lab.js';
import { createVirtualNetwork, type VirtualNetwork } from '../../src/lab/virtual-network.js';
import { doctorOnThisMachine } from '../../src/main/doctor-wiring.js';
import { describeKernel } from '../harness/kernel-gate.js';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

function byId(checks: readonly DoctorCheck[]): Record<string, DoctorCheck> {
  return Object.fromEntries(checks.map((c) => [c.id, c]));
}

describeKernel('porttrigger doctor in a router namespace', () => {
  let net: VirtualNetwork;
  let dir: string;
  let configPath: string;
  let config: Config;

  beforeAll(async () => {
    net = await createVirtualNetwork({ prefix: 'ptdoc', run: runProgram });
    dir = await mkdtemp(join(tmpdir(), 'porttrigger-doctor-'));
    configPath = join(dir, 'config.yaml');
    const text = labConfigText({
      idleTimeout: 30,
      listen: '127.0.0.1:0',
      tokenFile: join(dir, 'token'),
      database: join(dir, 'events.db'),
    });
    await writeFile(configPath, text);
    const parsed = parseConfigText(text);
    if (!parsed.ok) throw new Error('the lab config is invalid');
    config = parsed.value;
  });

  afterAll(async () => {
    await net?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const nft = (args: string[], input?: string) =>
    runProgram('nft', args, { netns: net.namespaces.router, ...(input ? { input } : {}) });

  it('passes every check on a clean router and leaves no scratch table', async () => {
    const checks = byId(await doctorOnThisMachine({ netns: net.namespaces.router, config }));
    expect(Object.keys(checks)).toEqual([
      'nft',
      'kernel',
      'forwarding',
      'conntrack',
      'set-reader',
      'interfaces',
      'wan-address',
      'api-listen',
      'forward-policy',
      'static-dnat',
    ]);
    for (const check of Object.values(checks)) expect(check, check.id).toMatchObject({ status: 'ok' });
    expect(checks['interfaces']!.detail).toBe('br-lan, wan0 present');
    expect(checks['forwarding']!.detail).toBe('on for IPv4 and IPv6');
    expect((await nft(['list', 'tables'])).stdout).toBe('');
  });

  it('warns about a firewall that drops DNAT-ed traffic and a static forward of an open port', async () => {
    await nft(
      ['-f', '-'],
      [
        'table ip other {',
        '  chain forward_drop { type filter hook forward priority filter; policy drop; ct state established,related accept; }',
        '  chain static_forwards { type nat hook prerouting priority dstnat; policy accept; iifname "wan0" tcp dport 4000 dnat to 192.168.1.50; }',
        '}',
        '',
      ].join('\n'),
    );
    try {
      const checks = byId(await doctorOnThisMachine({ netns: net.namespaces.router, config }));
      expect(checks['forward-policy']).toMatchObject({
        status: 'warn',
        detail: expect.stringContaining('table ip other chain forward_drop'),
      });
      expect(checks['static-dnat']).toMatchObject({
        status: 'warn',
        detail: expect.stringContaining('forwards tcp 4000 to 192.168.1.50, an open port of rule "IRC DCC"'),
      });
    } finally {
      await nft(['delete', 'table', 'ip', 'other']);
    }
  });

  it('fails when forwarding is off and warns about missing interfaces', async () => {
    await net.exec('router', 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=0']);
    try {
      const missing = { ...config, interfaces: { lan: ['br-lan'], wan: ['ppp0'] } };
      const checks = byId(await doctorOnThisMachine({ netns: net.namespaces.router, config: missing }));
      expect(checks['forwarding']!.status).toBe('fail');
      expect(checks['interfaces']).toMatchObject({ status: 'warn', detail: 'not present now: ppp0' });
    } finally {
      await net.exec('router', 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
    }
  });

  it('runs as `porttrigger doctor` with exit code 0 when nothing fails', async () => {
    expect(existsSync(MAIN)).toBe(true);
    const r = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [
        MAIN,
        'doctor',
        '--netns',
        net.namespaces.router,
        '--config',
        configPath,
        '--json',
      ]);
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout }));
    });
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout) as { ok: boolean; checks: DoctorCheck[] };
    expect(body.ok).toBe(true);
    expect(body.checks.map((c) => `${c.id}:${c.status}`)).toEqual([
      'config:ok',
      'nft:ok',
      'kernel:ok',
      'forwarding:ok',
      'conntrack:ok',
      'set-reader:ok',
      'interfaces:ok',
      'wan-address:ok',
      'api-listen:ok',
      'forward-policy:ok',
      'static-dnat:ok',
    ]);
  });
});
