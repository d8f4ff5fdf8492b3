import { parsePrefix } from '../core/address.js';
import { TABLE_NAME } from '../core/types.js';
import type { DispatchElement, DispatchMap, Plan, RulePlan } from './plan.js';
import { SET_SIZES } from './plan.js';

/** Objects of our table that exist in the kernel now, so that an apply can delete what the new plan drops. */
export interface ExistingObjects {
  readonly table: boolean;
  readonly sets: ReadonlySet<string>;
  readonly chains: ReadonlySet<string>;
}

/** An element to add after the table is re-declared: entries carried into a re-created set. */
export interface SeedElement {
  readonly set: string;
  /** The element as nft syntax, already canonical (addresses formatted by the core, never user text). */
  readonly key: string;
  readonly value?: string;
  readonly timeoutMs: number;
  readonly expiresMs: number;
}

const T = `inet ${TABLE_NAME}`;
// How quickly a size-1 holder set frees an expired holder, so that the next trigger can take the rule.
const HOLDER_GC_INTERVAL = '250ms';

function quoteIfaces(names: readonly string[]): string {
  // Names were validated against [A-Za-z0-9_.-]{1,15}\*? by the core, so quoting cannot be escaped.
  return `{ ${names.map((n) => `"${n}"`).join(', ')} }`;
}

function addr(rule: RulePlan, field: 'saddr' | 'daddr'): string {
  return `${rule.family === 'ipv4' ? 'ip' : 'ip6'} ${field}`;
}

function addrType(rule: RulePlan): string {
  return rule.family === 'ipv4' ? 'ipv4_addr' : 'ipv6_addr';
}

/** Drops prefixes that another listed prefix contains: anonymous nft sets refuse overlapping intervals. */
function minimalPrefixes(prefixes: readonly string[]): string[] {
  const parsed = prefixes.map((p) => ({ text: p, prefix: parsePrefix(p) }));
  return parsed
    .filter(
      ({ prefix: a }, i) =>
        !('error' in a) &&
        !parsed.some(({ prefix: b }, j) => {
          if (j === i || 'error' in b || b.family !== a.family) return false;
          const shift = BigInt((a.family === 'ipv4' ? 32 : 128) - b.length);
          const contains = b.length <= a.length && a.network >> shift === b.network >> shift;
          return contains && (b.length < a.length || j < i);
        }),
    )
    .map(({ text }) => text);
}

function setDecl(name: string, type: string, opts: { size: number; timeoutS: number; gc?: string }): string {
  const gc = opts.gc ? ` gc-interval ${opts.gc};` : '';
  return `\tset ${name} { type ${type}; size ${opts.size}; flags dynamic,timeout; timeout ${opts.timeoutS}s;${gc} }`;
}

function mapDecl(
  name: string,
  type: string,
  value: string,
  opts: { size: number; timeoutS: number },
): string {
  return `\tmap ${name} { type ${type} : ${value}; size ${opts.size}; flags dynamic,timeout; timeout ${opts.timeoutS}s; }`;
}

function ruleSets(r: RulePlan): string[] {
  const t = addrType(r);
  const timeoutS = r.rule.idleTimeout;
  const s = r.entrySets;
  const out: string[] = [];
  if (s.h) out.push(setDecl(s.h, t, { size: 1, timeoutS, gc: HOLDER_GC_INTERVAL }));
  // Room for a few expired holders awaiting garbage collection, so a takeover never finds the map full.
  if (s.d) out.push(mapDecl(s.d, 'nf_proto', t, { size: SET_SIZES.dnat, timeoutS }));
  if (s.t) out.push(setDecl(s.t, t, { size: SET_SIZES.contacted, timeoutS }));
  if (s.p) out.push(setDecl(s.p, `${t} . ${t}`, { size: SET_SIZES.contacted, timeoutS }));
  if (s.m) out.push(mapDecl(s.m, t, t, { size: SET_SIZES.contacted, timeoutS }));
  const conflictType = r.rule.remote === 'any' ? t : `${t} . ${t}`;
  out.push(setDecl(r.conflictSet, conflictType, { size: SET_SIZES.records, timeoutS: 60 }));
  out.push(setDecl(r.blockedSet, t, { size: SET_SIZES.records, timeoutS: 60 }));
  return out;
}

/** The statements that refresh (or claim) an entry, in an order that makes the gate set expire last. */
function entryUpdates(r: RulePlan, holder: string, remote: string): string {
  const s = r.entrySets;
  if (r.rule.remote === 'any') {
    // The size-1 holder set is the gate: it must come first so a full set stops the rest of the rule.
    return [`update @${s.h} { ${holder} }`, s.d ? `update @${s.d} { meta nfproto : ${holder} }` : '']
      .filter(Boolean)
      .join(' ');
  }
  return [
    s.m ? `update @${s.m} { ${remote} : ${holder} }` : '',
    `update @${s.p} { ${remote} . ${holder} }`,
    `update @${s.t} { ${remote} }`,
  ]
    .filter(Boolean)
    .join(' ');
}

function triggerChain(r: RulePlan): string[] {
  const src = addr(r, 'saddr');
  const dst = addr(r, 'daddr');
  const lines: string[] = [];
  if (r.lanHosts !== 'any') {
    const allowed = minimalPrefixes(r.lanHosts);
    const guard = allowed.length > 0 ? `${src} != { ${allowed.join(', ')} } ` : '';
    lines.push(`${guard}add @${r.blockedSet} { ${src} } return`);
  }
  if (r.rule.remote === 'any') {
    lines.push(`${entryUpdates(r, src, dst)} return`);
    lines.push(`add @${r.conflictSet} { ${src} }`);
  } else {
    lines.push(
      `${dst} @${r.entrySets.t} ${dst} . ${src} != @${r.entrySets.p} add @${r.conflictSet} { ${src} . ${dst} } return`,
    );
    lines.push(entryUpdates(r, src, dst));
  }
  return lines;
}

/** Inbound traffic of an entry, original direction, after DNAT: refresh; for IPv6 also admit. */
function inboundChain(r: RulePlan): string[] {
  const remote = addr(r, 'saddr');
  const host = addr(r, 'daddr');
  const held =
    r.rule.remote === 'any' ? `${host} @${r.entrySets.h}` : `${remote} . ${host} @${r.entrySets.p}`;
  const verdict = r.family === 'ipv4' ? 'return' : 'accept';
  const lines = [`${held} ${entryUpdates(r, host, remote)} ${verdict}`];
  // Only connections that the entry admitted are cut; a new one is the host firewall's business (companion).
  if (r.rule.onExpire === 'close') lines.push('ct state != new drop');
  return lines;
}

/** Reply direction of an entry's connections (onExpire: close): drop once the host no longer holds it. */
function replyChain(r: RulePlan): string[] {
  const host = addr(r, 'saddr');
  const remote = addr(r, 'daddr');
  return [
    r.rule.remote === 'any'
      ? `${host} != @${r.entrySets.h} drop`
      : `${remote} . ${host} != @${r.entrySets.p} drop`,
  ];
}

function dnatChain(r: RulePlan): string[] {
  return r.rule.remote === 'any'
    ? [`dnat ip to meta nfproto map @${r.entrySets.d}`]
    : [`dnat ip to ip saddr map @${r.entrySets.m}`];
}

function chain(name: string, lines: readonly string[]): string {
  return [`\tchain ${name} {`, ...lines.map((l) => `\t\t${l}`), '\t}'].join('\n');
}

function element(e: DispatchElement): string {
  const ports = e.range.from === e.range.to ? `${e.range.from}` : `${e.range.from}-${e.range.to}`;
  const verb = e.chain.startsWith('dn4_') ? 'goto' : 'jump';
  return `${e.protocol} . ${ports} : ${verb} ${e.chain}`;
}

function dispatchMap(name: DispatchMap, elements: readonly DispatchElement[]): string {
  const body = elements.map((e) => `\t\t\t${element(e)}`).join(',\n');
  return `\tmap ${name} {\n\t\ttype inet_proto . inet_service : verdict; flags interval;\n\t\telements = {\n${body}\n\t\t}\n\t}`;
}

function baseChains(plan: Plan): string[] {
  const { interfaces, mode } = plan.config;
  const lan = quoteIfaces(interfaces.lan);
  const wan = quoteIfaces(interfaces.wan);
  const has = (m: DispatchMap) => plan.dispatch[m].length > 0;
  const forward: string[] = [];
  const when = (m: DispatchMap, line: string) => has(m) && forward.push(`${line} vmap @${m}`);
  when(
    'inbound4',
    `iifname ${wan} ct direction original meta nfproto ipv4 ct status dnat meta l4proto . th dport`,
  );
  when('inbound6', `iifname ${wan} ct direction original meta nfproto ipv6 meta l4proto . th dport`);
  when(
    'reply4',
    `oifname ${wan} ct direction reply meta nfproto ipv4 ct status dnat meta l4proto . th sport`,
  );
  when('reply6', `oifname ${wan} ct direction reply meta nfproto ipv6 meta l4proto . th sport`);
  when('trigger4', `iifname ${lan} oifname ${wan} meta nfproto ipv4 meta l4proto . th dport`);
  when('trigger6', `iifname ${lan} oifname ${wan} meta nfproto ipv6 meta l4proto . th dport`);
  const standalone = mode === 'standalone';
  if (standalone) {
    forward.push(
      'ct state established,related accept',
      'ct state invalid drop',
      `iifname ${lan} accept`,
      'ct status dnat accept comment "entries of porttrigger"',
    );
  }
  const policy = standalone ? 'drop' : 'accept';
  const out = [chain('forward', [`type filter hook forward priority filter; policy ${policy};`, ...forward])];
  const dstnat = has('dnat4')
    ? [`iifname ${wan} meta nfproto ipv4 fib daddr type local meta l4proto . th dport vmap @dnat4`]
    : [];
  out.push(chain('dstnat', ['type nat hook prerouting priority dstnat; policy accept;', ...dstnat]));
  if (standalone) {
    out.push(
      chain('srcnat', [
        'type nat hook postrouting priority srcnat; policy accept;',
        `oifname ${wan} meta nfproto ipv4 masquerade`,
      ]),
    );
  }
  return out;
}

/**
 * The table declaration for a plan: sets, maps and chains with all their rules.
 * @example renderTable(planConfig(config))
 */
export function renderTable(plan: Plan): string {
  const parts: string[] = [];
  for (const r of plan.rules) parts.push(...ruleSets(r));
  for (const [name, elements] of Object.entries(plan.dispatch) as [DispatchMap, DispatchElement[]][]) {
    if (elements.length > 0) parts.push(dispatchMap(name, elements));
  }
  for (const r of plan.rules) {
    parts.push(chain(r.chains.trigger, triggerChain(r)));
    parts.push(chain(r.chains.inbound, inboundChain(r)));
    if (r.chains.dnat) parts.push(chain(r.chains.dnat, dnatChain(r)));
    if (r.chains.reply) parts.push(chain(r.chains.reply, replyChain(r)));
  }
  for (const f of plan.fanouts)
    parts.push(
      chain(
        f.name,
        f.targets.map((t) => `jump ${t}`),
      ),
    );
  parts.push(...baseChains(plan));
  return `table ${T} {\n${parts.join('\n')}\n}\n`;
}

function seedLine(e: SeedElement): string {
  const value = e.value === undefined ? '' : ` : ${e.value}`;
  return `add element ${T} ${e.set} { ${e.key} timeout ${e.timeoutMs}ms expires ${e.expiresMs}ms${value} }`;
}

/**
 * One atomic transaction from whatever our table holds now to the plan: flush the rules, delete the
 * objects the plan no longer has and every dispatch map (they are re-created whole), declare the table,
 * then seed carried-over entries. Dynamic sets that stay keep their elements (nft keeps them on flush).
 */
export function renderApplyScript(
  plan: Plan,
  existing: ExistingObjects,
  seeds: readonly SeedElement[] = [],
): string {
  const lines = [`table ${T}`, `flush table ${T}`];
  if (existing.table) {
    const keepChains = new Set([
      ...plan.rules.flatMap((r) => Object.values(r.chains).filter((c): c is string => !!c)),
      ...plan.fanouts.map((f) => f.name),
      'forward',
      'dstnat',
      ...(plan.config.mode === 'standalone' ? ['srcnat'] : []),
    ]);
    const keepSets = new Set(
      plan.rules.flatMap((r) => [...Object.values(r.entrySets), r.conflictSet, r.blockedSet]).filter(Boolean),
    );
    // Maps first: their verdict elements hold references to the chains deleted below.
    for (const name of [...existing.sets].sort()) {
      if (/^(trigger|dnat|inbound|reply)[46]$/.test(name)) lines.push(`delete map ${T} ${name}`);
    }
    for (const name of [...existing.chains].sort())
      if (!keepChains.has(name)) lines.push(`delete chain ${T} ${name}`);
    for (const name of [...existing.sets].sort()) {
      if (!/^(trigger|dnat|inbound|reply)[46]$/.test(name) && !keepSets.has(name)) {
        lines.push(`delete ${/^[dm]/.test(name) ? 'map' : 'set'} ${T} ${name}`);
      }
    }
  }
  return `${lines.join('\n')}\n${renderTable(plan)}${seeds.map(seedLine).join('\n')}${seeds.length ? '\n' : ''}`;
}

/** The script that removes our table and nothing else. */
export function renderRemoveScript(): string {
  return `table ${T}\ndelete table ${T}\n`;
}
