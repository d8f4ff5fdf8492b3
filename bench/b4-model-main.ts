/**
 * B4's measuring process: `node b4-model-main.js RULES ENTRIES ITERATIONS` prints one JSON line with the
 * reference model's decisions per second and a Map-lookup baseline of the same size, measured in this process.
 * Run on its own so that no other part's heap or JIT state is in the way.
 */

import type { Config, Rule } from '../src/domain/types.js';
import { type ModelPacket, ReferenceModel } from '../src/model/model.js';
import { profileCall } from './lib/profile.js';

const BATCH = 1_000_000;
const POOL = 100_000;
const GATEWAY = '203.0.113.1';

/** A small deterministic PRNG (mulberry32), so every run decides the same packets. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function ipv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

/** Rules that each trigger on 10000+i and open 30000+i (both protocols), all `remote: contacted`. */
function modelConfig(rules: number): Config {
  const list: Rule[] = [];
  for (let i = 0; i < rules; i++) {
    list.push({
      name: `rule-${i}`,
      enabled: true,
      family: 'both',
      trigger: [{ protocol: 'both', ports: String(10_000 + (i % 20_000)) }],
      open: [{ protocol: 'both', ports: String(30_000 + (i % 30_000)) }],
      idleTimeout: 3600,
      lanHosts: 'any',
      remote: 'contacted',
      onExpire: 'keep',
    });
  }
  return {
    interfaces: { lan: ['br-lan'], wan: ['wan0'] },
    mode: 'standalone',
    enabled: true,
    ipv6: true,
    rules: list,
  };
}

const remoteOf = (j: number) => ipv4(0xc6120000 + 1 + j);
const holderOf = (i: number) => `192.168.1.${10 + (i % 200)}`;

interface Workload {
  readonly model: ReferenceModel;
  readonly pool: readonly ModelPacket[];
  readonly entries: number;
}

/**
 * A model with `entries` entries (each rule contacted `entries / rules` remotes), and a fixed pool of packets:
 * 40 % inbound to an open port from a remote that holds an entry, 20 % inbound from one that holds none,
 * 30 % triggers from holders, 10 % other LAN traffic.
 */
async function buildWorkload(rules: number, entries: number): Promise<Workload> {
  const model = new ReferenceModel({ gatewayAddresses: [GATEWAY] });
  await model.apply(modelConfig(rules));
  const perRule = Math.ceil(entries / rules);
  let made = 0;
  for (let i = 0; i < rules && made < entries; i++) {
    for (let j = 0; j < perRule && made < entries; j++, made++) {
      model.process({
        side: 'lan',
        family: 'ipv4',
        protocol: 'udp',
        src: holderOf(i),
        sport: 50_000 + j,
        dst: remoteOf(j),
        dport: 10_000 + i,
      });
    }
  }
  const table = (await model.read()).table;
  const random = prng(42);
  const pool: ModelPacket[] = [];
  for (let k = 0; k < POOL; k++) {
    const i = Math.floor(random() * rules);
    const j = Math.floor(random() * perRule);
    const kind = random();
    const protocol = random() < 0.5 ? 'udp' : 'tcp';
    const sport = 1024 + Math.floor(random() * 60_000);
    if (kind < 0.4) {
      pool.push({
        side: 'wan',
        family: 'ipv4',
        protocol,
        src: remoteOf(j),
        sport,
        dst: GATEWAY,
        dport: 30_000 + i,
      });
    } else if (kind < 0.6) {
      pool.push({
        side: 'wan',
        family: 'ipv4',
        protocol,
        src: remoteOf(perRule + j),
        sport,
        dst: GATEWAY,
        dport: 30_000 + i,
      });
    } else if (kind < 0.9) {
      pool.push({
        side: 'lan',
        family: 'ipv4',
        protocol,
        src: holderOf(i),
        sport: 50_000 + j,
        dst: remoteOf(j),
        dport: 10_000 + i,
      });
    } else {
      pool.push({
        side: 'lan',
        family: 'ipv4',
        protocol,
        src: holderOf(i),
        sport,
        dst: remoteOf(j),
        dport: 443,
      });
    }
  }
  return { model, pool, entries: table.entries.length };
}

function decide(w: Workload, count: number, offset: number): number {
  let forwarded = 0;
  const { model, pool } = w;
  for (let k = 0; k < count; k++) {
    if (model.process(pool[(offset + k) % pool.length]!).action === 'forward') forwarded++;
  }
  return forwarded;
}

function lookups(map: Map<string, number>, keys: readonly string[], count: number, offset: number): number {
  let sum = 0;
  for (let k = 0; k < count; k++) sum += map.get(keys[(offset + k) % keys.length]!) ?? 0;
  return sum;
}

function perSecond(count: number, fn: () => number): { rate: number; check: number } {
  const start = process.hrtime.bigint();
  const check = fn();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { rate: count / seconds, check };
}

async function main(): Promise<void> {
  const [rules = 10_000, entries = 100_000, iterations = 9] = process.argv.slice(2).map(Number);
  const w = await buildWorkload(rules, entries);
  // The baseline: a Map of the same number of entries, keyed like the model's entries, looked up as often.
  const map = new Map<string, number>();
  const keys: string[] = [];
  for (let k = 0; k < entries; k++) {
    const key = `rule-${k % rules}\u0000ipv4\u0000${remoteOf(Math.floor(k / rules))}`;
    map.set(key, k);
    keys.push(key);
  }
  const lookupKeys = Array.from({ length: POOL }, (_, k) => keys[(k * 7919) % keys.length]!);
  // Warm-up: twice through the pool (JIT, and every connection of the pool is known afterwards).
  decide(w, 2 * POOL, 0);
  lookups(map, lookupKeys, 2 * POOL, 0);
  const model: number[] = [];
  const baseline: number[] = [];
  let check = 0;
  for (let it = 0; it < iterations; it++) {
    const m = perSecond(BATCH, () => decide(w, BATCH, it * 7));
    const b = perSecond(BATCH, () => lookups(map, lookupKeys, BATCH, it * 7));
    model.push(m.rate);
    baseline.push(b.rate);
    check += m.check + b.check;
  }
  const hotspots = await profileCall(() => decide(w, BATCH, 0), 10);
  process.stdout.write(
    `${JSON.stringify({ rules, entries: w.entries, batch: BATCH, pool: POOL, model, baseline, check, hotspots })}\n`,
  );
}

await main();
