import type dgram from 'node:dgram';
import { setTimeout as delay } from 'node:timers/promises';
import { LAB_ADDRESSES } from '../src/lab/virtual-network.js';
import { measureTakeover, takeoverRule } from './b5-takeover.js';
import type { BenchContext } from './lib/context.js';
import { NamespaceHelper } from './lib/helpers.js';
import { createBenchNetwork } from './lib/lab.js';
import { newPart, type PartResult } from './lib/results.js';
import { type BenchService, type StreamedEvent, startBenchService, streamEvents } from './lib/service.js';
import { summarize } from './lib/stats.js';

const A = LAB_ADDRESSES;
/** Two `remote: contacted` rules and 100 remotes on the WAN segment: 200 distinct entries, 200 `opened` events. */
const CONTACTED_PORTS = [
  { trigger: 6100, open: 7100 },
  { trigger: 6200, open: 7200 },
] as const;
const REMOTES = 100;
/** The rule whose entry each outside change is made against: trigger 6001, open 7001, any remote. */
const ANY = { trigger: 6001, open: 7001 } as const;
const LATENCY_GOAL_MS = 100;
const RESTORE_GOAL_MS = 2000;
/** How long one opened event or one restore is waited for before it counts as missed. */
const WAIT_LIMIT_MS = 5_000;

function remote(i: number): string {
  return `203.0.113.${100 + i}`;
}

function rawB5Config(): Record<string, unknown> {
  return {
    interfaces: { lan: ['br-lan'], wan: ['wan0'] },
    mode: 'standalone',
    ipv6: false,
    rules: [
      ...CONTACTED_PORTS.map((p, i) => ({
        name: `contacted-${i}`,
        family: 'ipv4',
        trigger: [{ protocol: 'udp', ports: String(p.trigger) }],
        open: [{ protocol: 'udp', ports: String(p.open) }],
        remote: 'contacted',
        idleTimeout: 600,
      })),
      {
        name: 'any',
        family: 'ipv4',
        trigger: [{ protocol: 'udp', ports: String(ANY.trigger) }],
        open: [{ protocol: 'udp', ports: String(ANY.open) }],
        idleTimeout: 600,
      },
      takeoverRule(),
    ],
  };
}

function send(socket: dgram.Socket, port: number, address: string, text: string): Promise<void> {
  return new Promise((resolve, reject) =>
    socket.send(text, port, address, (error) => (error ? reject(error) : resolve())),
  );
}

interface TableEntry {
  readonly rule: string;
  readonly holder: string;
  readonly remote?: string;
}

async function tableHas(service: BenchService, rule: string, holder: string): Promise<boolean> {
  const table = (await service.get('/table')) as { entries: TableEntry[] };
  return table.entries.some((e) => e.rule === rule && e.holder === holder);
}

/**
 * B5: how fast the service hears the kernel (trigger → `opened` on the event stream) and how fast it puts back
 * what another tool removed, with the real service in a virtual network.
 */
export async function runB5(ctx: BenchContext): Promise<PartResult> {
  const part = newPart('b5', 'B5 observing the kernel');
  const started = Date.now();
  part.method.push(
    `The service (\`node dist/main/daemon.js --netns ROUTER\`) runs in a virtual network with two \`remote: contacted\` rules and one \`remote: any\` rule. Latency: lan1 sends one UDP trigger to each of ${REMOTES} addresses on the WAN segment for each contacted rule (${REMOTES * CONTACTED_PORTS.length} new entries, one every 20 ms); the time from the send to the arrival of its \`opened\` event on \`GET /events/stream\` is measured in this process. Restore: with the \`any\` entry held by lan1, another tool (nft in the router's namespace) makes one change; the time until a new inbound connection from wan1 to the open port reaches lan1 again and \`GET /table\` shows the entry is measured, polling every 20 ms (an upper bound by up to one poll).`,
    `Takeover (docs/semantics.md, 5): a \`remote: any\` rule with a 2 s idle timeout; lan1 triggers it once, lan2's connection to its trigger port is a contender and keeps sending every 200 ms. The end of lan1's entry is the kernel's own expiry, read to the millisecond from \`nft list set hold4\` within its last second and followed while the service's refresh moves it later (each poll reads lan1's expiry again until lan2's element appears); the time from that end until lan2's element appears in that set is measured (polled every ~5 ms). The note gives the same rounds from the end as first read, and how far it moved. Adoption: lan1 sends one UDP datagram to a port no rule uses, then a rule with that trigger port is added with \`POST /rules\`; the time from the reply until \`GET /table\` names lan1 is measured, and the time of the call itself is noted.`,
  );
  const bn = await createBenchNetwork(ctx, 'b5', { rps: false, sinks: false });
  let service: BenchService | undefined;
  let stream: ReturnType<typeof streamEvents> | undefined;
  // Sockets handed over by the namespace helpers are this process's own: they must be closed for it to end.
  const sockets: dgram.Socket[] = [];
  try {
    service = await startBenchService(ctx, bn.net.namespaces.router, rawB5Config(), 'b5');
    const events: StreamedEvent[] = [];
    const waiters = new Set<() => void>();
    stream = streamEvents(service, (e) => {
      events.push(e);
      for (const w of waiters) w();
    });
    await stream.ready;
    const lan = await NamespaceHelper.start(ctx, bn.net.namespaces.lan1);
    const wan = await NamespaceHelper.start(ctx, bn.net.namespaces.wan1);
    const trigger = await lan.udp(0);
    sockets.push(trigger);
    trigger.on('error', () => undefined);

    // ---- trigger → opened ----
    const latencies: number[] = [];
    let missed = 0;
    for (const [r, ports] of CONTACTED_PORTS.entries()) {
      for (let i = 0; i < REMOTES; i++) {
        const to = remote(i);
        const sentAt = Date.now();
        await send(trigger, ports.trigger, to, 'trigger');
        const found = () =>
          events.find(
            (e) => e.type === 'opened' && e.data['rule'] === `contacted-${r}` && e.data['remote'] === to,
          );
        let event = found();
        const limit = Date.now() + WAIT_LIMIT_MS;
        while (!event && Date.now() < limit) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, 100);
            waiters.add(() => {
              clearTimeout(timer);
              resolve();
            });
          });
          waiters.clear();
          event = found();
        }
        if (event) latencies.push(event.receivedAt - sentAt);
        else missed++;
        if (missed >= 3 && latencies.length === 0) {
          throw new Error(
            `no opened event arrived for the first triggers (events seen: ${events.map((e) => e.type).join(', ') || 'none'})`,
          );
        }
        await delay(20);
      }
    }
    const latency = summarize(latencies);
    const sorted = [...latencies].sort((a, b) => a - b);
    const p99 = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)];
    part.rows.push({
      id: 'trigger-to-opened',
      group: 'B5 trigger → opened on the event stream',
      label: `time from a trigger to its \`opened\` event, ${latencies.length} triggers`,
      unit: 'ms',
      better: 'lower',
      baselineLabel: '—',
      baseline: undefined,
      value: latency,
      ratio: undefined,
      goal: {
        text: `p99 ≤ ${LATENCY_GOAL_MS} ms`,
        met: p99 !== undefined && missed === 0 ? p99 <= LATENCY_GOAL_MS : false,
        ...(p99 !== undefined ? { compared: { statistic: 'p99', value: p99 } } : {}),
      },
      note: `p99 ${p99?.toFixed(0) ?? '?'} ms, p50 ${latency?.median.toFixed(0) ?? '?'} ms${missed > 0 ? `; ${missed} event(s) did not arrive within ${WAIT_LIMIT_MS / 1000} s` : ''}`,
      extra: { p99: p99 ?? undefined },
    });

    ctx.log(`  trigger → opened: ${latencies.length} measured, ${missed} missed`);

    // ---- live trigger connections take a free rule ----
    const lan2 = await NamespaceHelper.start(ctx, bn.net.namespaces.lan2);
    part.rows.push(...(await measureTakeover(ctx, bn, service, { lan1: lan, lan2 }, sockets)));

    // ---- restore after outside changes ----
    const receiver = await lan.udp(ANY.open);
    sockets.push(receiver);
    const arrived = new Set<string>();
    receiver.on('message', (m) => arrived.add(m.toString()));
    const router = (args: string[]) => bn.net.exec('router', 'nft', args);
    const probeDelivered = async (n: number): Promise<boolean> => {
      const socket = await wan.udp(0);
      try {
        const token = `probe-${n}`;
        await send(socket, ANY.open, A.router.wan.ipv4, token);
        await delay(15);
        return arrived.has(token);
      } finally {
        socket.close();
      }
    };
    // Each trigger of the restore rounds is a new connection: a released holder's old one never takes the rule
    // again (docs/semantics.md, 11), and the fresh round releases before it triggers.
    const freshTrigger = async () => {
      const socket = await lan.udp(0);
      sockets.push(socket);
      socket.on('error', () => undefined);
      await send(socket, ANY.trigger, A.hosts.wan1.ipv4, 'trigger');
    };
    const holdAny = async () => {
      await freshTrigger();
      const limit = Date.now() + WAIT_LIMIT_MS;
      while (!(await tableHas(service!, 'any', A.hosts.lan1.ipv4)) && Date.now() < limit) await delay(20);
    };
    const listed = JSON.parse((await router(['-j', 'list', 'table', 'inet', 'porttrigger'])).stdout) as {
      nftables: { set?: { name: string }; map?: { name: string } }[];
    };
    const ourSets = listed.nftables.flatMap((o) =>
      o.set ? [`set ${o.set.name}`] : o.map ? [`map ${o.map.name}`] : [],
    );
    const changes: { label: string; args: string[][]; fresh?: boolean }[] = [
      { label: 'delete table inet porttrigger', args: [['delete', 'table', 'inet', 'porttrigger']] },
      { label: 'flush table inet porttrigger', args: [['flush', 'table', 'inet', 'porttrigger']] },
      { label: 'flush ruleset', args: [['flush', 'ruleset']] },
      { label: 'trigger, then at once flush ruleset', args: [['flush', 'ruleset']], fresh: true },
      ...ourSets.map((s) => {
        const [kind, name] = s.split(' ') as [string, string];
        return { label: `flush ${kind} ${name}`, args: [['flush', kind, 'inet', 'porttrigger', name]] };
      }),
    ];
    let probe = 0;
    const restores: number[] = [];
    const notRestored: string[] = [];
    for (const change of changes) {
      if (change.fresh) {
        // A new holder a moment before the change: release the entry, trigger, and change at once.
        await fetch(`${service.baseUrl}/release`, {
          method: 'POST',
          headers: { authorization: `Bearer ${service.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ rule: 'any' }),
        });
        await freshTrigger();
      } else {
        await holdAny();
      }
      const t0 = Date.now();
      for (const args of change.args) await router(args);
      let restoredAt: number | undefined;
      while (Date.now() - t0 < WAIT_LIMIT_MS) {
        const delivered = await probeDelivered(probe++);
        if (delivered && (await tableHas(service, 'any', A.hosts.lan1.ipv4))) {
          restoredAt = Date.now();
          break;
        }
        await delay(5);
      }
      ctx.log(`  ${change.label}: ${restoredAt === undefined ? 'not restored' : `${restoredAt - t0} ms`}`);
      if (restoredAt === undefined) notRestored.push(change.label);
      else restores.push(restoredAt - t0);
      part.rows.push({
        id: `restore-${change.label.replace(/[^a-z0-9]+/gi, '-')}`,
        group: 'B5 restore after another tool changed the table',
        label: change.label,
        unit: 'ms',
        better: 'lower',
        baselineLabel: '—',
        baseline: undefined,
        value: restoredAt === undefined ? undefined : summarize([restoredAt - t0]),
        ratio: undefined,
        goal: {
          text: `≤ ${RESTORE_GOAL_MS} ms, the entry back`,
          met: restoredAt !== undefined && restoredAt - t0 <= RESTORE_GOAL_MS,
        },
        ...(restoredAt === undefined
          ? {
              note: `not restored within ${WAIT_LIMIT_MS / 1000} s (inbound not delivered or the table lacks it)`,
            }
          : {}),
      });
    }
    part.raw['b5'] = { latencies, missed, restores, notRestored, changes: changes.map((c) => c.label) };
  } catch (error) {
    part.status = 'failed';
    part.reason = `${(error as Error).message.split('\n')[0]}${service ? ` (service: ${service.stderr().trim().split('\n').slice(-1)[0] ?? ''})` : ''}`;
  } finally {
    for (const socket of sockets) socket.close();
    stream?.close();
    await service?.stop();
    await bn.destroy();
  }
  part.durationS = (Date.now() - started) / 1000;
  return part;
}
