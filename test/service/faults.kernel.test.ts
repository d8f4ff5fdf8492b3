/**
 * Faults of the running service on the real kernel: an nft that hangs (a test-only program put in front of the
 * real nft through the composition root's `nft.binary`, never reachable from the config or the API) and an event
 * database deleted under the running service. Real triggers from the LAN host of a virtual network.
 */

import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { LogFields, Logger } from '../../src/domain/logger.js';
import { LAB_ADDRESSES, type VirtualNetwork } from '../../src/lab/virtual-network.js';
import { startKernelService } from '../../src/main/start-service.js';
import type { Service } from '../../src/service/service.js';
import { portRule } from '../factories.js';
import { createGateway, type Gateway } from '../harness/gateway.js';
import { describeKernel } from '../harness/kernel-gate.js';

const LAN1 = LAB_ADDRESSES.hosts.lan1.ipv4;
const WAN1 = LAB_ADDRESSES.hosts.wan1.ipv4;

/** The real nft, unless the file `hang` exists next to this program: then it hangs like an nft stuck in the kernel. */
function hangingNft(dir: string): string {
  const program = join(dir, 'nft');
  writeFileSync(
    program,
    `#!/bin/sh\nif [ -e '${join(dir, 'hang')}' ]; then exec sleep 120; fi\nexec nft "$@"\n`,
  );
  chmodSync(program, 0o755);
  return program;
}

describeKernel('the service under faults (real kernel)', () => {
  let gw: Gateway;
  let net: VirtualNetwork | undefined;
  let service: Service | undefined;
  let dir = '';
  const logs: { level: string; message: string; fields?: LogFields }[] = [];
  const logger: Logger = {
    debug: () => undefined,
    info: (message, fields) => logs.push({ level: 'info', message, ...(fields ? { fields } : {}) }),
    warn: (message, fields) => logs.push({ level: 'warn', message, ...(fields ? { fields } : {}) }),
    error: (message, fields) => logs.push({ level: 'error', message, ...(fields ? { fields } : {}) }),
    child: () => logger,
  };

  beforeAll(async () => {
    gw = await createGateway({
      prefix: 'ptf',
      api: false,
      rules: [
        portRule('game', 'udp 5000', 'udp 7000', { idleTimeout: 600 }),
        portRule('call', 'udp 6000', 'udp 7100', { idleTimeout: 600 }),
      ],
    });
    ({ net, dir } = gw);
    // The hanging nft lets go before the service stops, so that stopping can remove the table.
    gw.onCleanup(() => service?.stop());
    gw.onCleanup(() => rmSync(join(dir, 'hang'), { force: true }));
    service = await startKernelService({
      configPath: gw.configPath,
      logger,
      netns: net.namespaces.router,
      nft: { binary: hangingNft(dir), listTimeoutMs: 4_000 },
      reconcileIntervalMs: 500,
      staleReadAfterMs: 3_000,
    });
  });

  afterAll(() => gw?.cleanup());

  it('answers reads from the last table while nft hangs, says degraded, and recovers', async () => {
    await net!.host('lan1').sendUdp({ to: WAN1, port: 5000, token: 'hang-1' });
    await expect
      .poll(async () => (await service!.table()).entries.map((e) => [e.rule, e.holder]), { timeout: 10_000 })
      .toEqual([['game', LAN1]]);
    const fresh = await service!.table();
    expect(fresh.stale).toBeUndefined();
    expect(service!.health().status).toBe('ok');

    writeFileSync(join(dir, 'hang'), '');
    // Reads answer with the last table, marked stale, instead of waiting for the hung nft.
    await expect.poll(async () => (await service!.table()).stale, { timeout: 10_000 }).toBe(true);
    const stale = await service!.table();
    expect(stale).toMatchObject({ stale: true, entries: [{ rule: 'game', holder: LAN1 }] });
    expect(stale.at).toBeLessThan(Date.now() - 500);
    const check = await service!.checkPort(7000, 'udp');
    expect(check).toMatchObject({ open: true, stale: true });

    // /health turns degraded: the last read grows old, then the hung listing is stopped and named.
    await expect.poll(() => service!.health().status, { timeout: 10_000 }).toBe('degraded');
    await expect
      .poll(() => service!.health().reasons.join('\n'), { timeout: 20_000 })
      // The base of 4 s, and half a millisecond for each object of this small table.
      .toMatch(/datapath: nft did not finish the listing.*timed out after 40\d\d ms/);
    expect(service!.health().reasons.join('\n')).toMatch(/the trigger table was last read \d+ s ago/);

    rmSync(join(dir, 'hang'));
    await expect.poll(() => service!.health().status, { timeout: 20_000 }).toBe('ok');
    const again = await service!.table();
    expect(again.stale).toBeUndefined();
    expect(again.entries).toMatchObject([{ rule: 'game', holder: LAN1 }]);
  });

  it('notices the event database deleted while running and writes new events to a new one', async () => {
    const database = join(dir, 'events.db');
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${database}${suffix}`, { force: true });
    await net!.host('lan1').sendUdp({ to: WAN1, port: 6000, token: 'db-1' });
    await expect
      .poll(
        () => {
          if (!existsSync(database)) return [];
          const db = new Database(database, { readonly: true, fileMustExist: true });
          try {
            return db.prepare('SELECT type, rule FROM events').all();
          } finally {
            db.close();
          }
        },
        { timeout: 15_000 },
      )
      .toEqual([{ type: 'opened', rule: 'call' }]);
    expect(service!.health()).toMatchObject({
      status: 'ok',
      eventStore: { status: 'ok', reopenedAt: expect.any(Number) },
    });
    expect(service!.queryEvents({}).events.map((e) => [e.type, 'rule' in e ? e.rule : undefined])).toEqual([
      ['opened', 'call'],
    ]);
    expect(logs.filter((l) => /event database was deleted or replaced/.test(l.message))).toHaveLength(1);
  });
});
