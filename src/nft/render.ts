import { parsePrefix } from '../domain/address.js';
import type { Family, Protocol } from '../domain/types.js';
import { RECORD_WINDOW_SECONDS, TABLE_NAME } from '../domain/types.js';
import { learnRules } from './learn-rules.js';
import { CT_MARK, markHex, setMarkStatement } from './marks.js';
import type { DispatchElement, DispatchMap, Plan, RulePlan, SharedSetKind } from './plan.js';
import { DISPATCH_MAPS, SET_SIZES, SHARED_SET_NAMES, sharedSetName, sharedSetNames } from './plan.js';

/** Objects of our table that exist in the kernel now, so that an apply can delete what the new plan drops. */
export interface ExistingObjects {
  readonly table: boolean;
  readonly sets: ReadonlySet<string>;
  readonly maps: ReadonlySet<string>;
  readonly chains: ReadonlySet<string>;
}

/** A kernel without our table: what `compile` renders against. */
export const NO_TABLE: ExistingObjects = {
  table: false,
  sets: new Set(),
  maps: new Set(),
  chains: new Set(),
};

/** An element to add (or delete) after the table is re-declared: entries carried over, changed or dropped. */
export interface SeedElement {
  readonly set: string;
  /** The element as nft syntax, already canonical (addresses formatted by the core, never user text). */
  readonly key: string;
  readonly value?: string;
  /** Absent for a delete. */
  readonly timeoutMs?: number;
  readonly expiresMs?: number;
}

const T = `inet ${TABLE_NAME}`;

function quoteIfaces(names: readonly string[]): string {
  // Names were validated against [A-Za-z0-9_.-]{1,15}\*? by the core, so quoting cannot be escaped.
  return `{ ${names.map((n) => `"${n}"`).join(', ')} }`;
}

function addr(rule: RulePlan, field: 'saddr' | 'daddr'): string {
  return `${rule.family === 'ipv4' ? 'ip' : 'ip6'} ${field}`;
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

function sharedSetDecls(family: Family): string[] {
  const ip = family === 'ipv4' ? 'ip' : 'ip6';
  const id = 'numgen inc mod 1'; // only its type is used: an integer, the rule's number
  const entries = `size ${SET_SIZES.entries}; flags dynamic,timeout;`;
  const records = `size ${SET_SIZES.records}; flags dynamic,timeout; timeout ${RECORD_WINDOW_SECONDS}s;`;
  const decls: [SharedSetKind, string, string][] = [
    ['held', `typeof ${id}`, entries],
    ['hold', `typeof ${id} . ${ip} saddr`, entries],
    ['target', `typeof ${id} : ${ip} daddr`, entries],
    ['taken', `typeof ${id} . ${ip} saddr`, entries],
    ['pair', `typeof ${id} . ${ip} saddr . ${ip} daddr`, entries],
    ['rtarget', `typeof ${id} . ${ip} saddr : ${ip} daddr`, entries],
    ['conflict', `typeof ${id} . ${ip} saddr`, records],
    ['rconflict', `typeof ${id} . ${ip} saddr . ${ip} daddr`, records],
    ['blocked', `typeof ${id} . ${ip} saddr`, records],
  ];
  return decls.flatMap(([kind, type, opts]) =>
    sharedSetNames(kind, family).map(
      (name) => `\t${type.includes(' : ') ? 'map' : 'set'} ${name} { ${type}; ${opts} }`,
    ),
  );
}

/**
 * The rule's number as an nft expression. nft 1.0 cannot type a bare constant inside a concatenation, so the
 * number comes from a hash expression that always yields it: `jhash x mod 1` is 0, plus the offset.
 */
function idExpr(r: RulePlan): string {
  return `jhash meta nfproto mod 1 offset ${r.id}`;
}

/** The statements that refresh (or claim) an entry, in an order that makes the gate set expire last. */
function entryUpdates(r: RulePlan, holder: string, remote: string): string {
  const id = idExpr(r);
  const t = `timeout ${r.rule.idleTimeout}s`;
  const set = (kind: SharedSetKind) => sharedSetName(kind, r.family, r.id);
  if (r.rule.remote === 'any') {
    return [
      set('target') ? `update @${set('target')} { ${id} ${t} : ${holder} }` : '',
      `update @${set('hold')} { ${id} . ${holder} ${t} }`,
      `update @${set('held')} { ${id} ${t} }`,
    ]
      .filter(Boolean)
      .join(' ');
  }
  return [
    set('rtarget') ? `update @${set('rtarget')} { ${id} . ${remote} ${t} : ${holder} }` : '',
    `update @${set('pair')} { ${id} . ${remote} . ${holder} ${t} }`,
    `update @${set('taken')} { ${id} . ${remote} ${t} }`,
  ]
    .filter(Boolean)
    .join(' ');
}

function triggerChain(r: RulePlan): string[] {
  const src = addr(r, 'saddr');
  const dst = addr(r, 'daddr');
  const id = idExpr(r);
  const set = (kind: SharedSetKind) => sharedSetName(kind, r.family);
  const lines: string[] = [];
  if (r.lanHosts !== 'any') {
    const allowed = minimalPrefixes(r.lanHosts);
    const guard = allowed.length > 0 ? `${src} != { ${allowed.join(', ')} } ` : '';
    lines.push(
      `${guard}add @${set('blocked')} { ${id} . ${src} } ${setMarkStatement(CT_MARK.notify)} return`,
    );
  }
  if (r.rule.remote === 'any') {
    // Held by another host: a conflict. Otherwise the holder refreshes, or the first trigger claims.
    lines.push(
      `${id} @${set('held')} ${id} . ${src} != @${set('hold')} add @${set('conflict')} { ${id} . ${src} } ${setMarkStatement(CT_MARK.notify)} return`,
    );
  } else {
    lines.push(
      `${id} . ${dst} @${set('taken')} ${id} . ${dst} . ${src} != @${set('pair')} add @${set('rconflict')} { ${id} . ${src} . ${dst} } ${setMarkStatement(CT_MARK.notify)} return`,
    );
  }
  // The mark lets the connection tracker carry the trigger connection: its later packets refresh the entry
  // from the control plane, without passing through any chain of ours.
  lines.push(`${entryUpdates(r, src, dst)} ${setMarkStatement(CT_MARK.ours | CT_MARK.notify)}`);
  return lines;
}

/** The lookup that is true while `host` holds the entry that `remote` reaches. */
function heldBy(r: RulePlan, host: string, remote: string, negate = false): string {
  const not = negate ? '!= ' : '';
  const id = idExpr(r);
  return r.rule.remote === 'any'
    ? `${id} . ${host} ${not}@${sharedSetName('hold', r.family)}`
    : `${id} . ${remote} . ${host} ${not}@${sharedSetName('pair', r.family)}`;
}

/**
 * The first packet of a new inbound connection of an entry (IPv4: after DNAT, in postrouting; IPv6: in
 * prerouting): refresh the entry and mark the connection, which admits it (IPv6) and lets it refresh later.
 */
function inboundChain(r: RulePlan): string[] {
  const remote = addr(r, 'saddr');
  const host = addr(r, 'daddr');
  const bits = CT_MARK.ours | CT_MARK.inbound | (r.rule.onExpire === 'close' ? CT_MARK.close : 0);
  return [`${heldBy(r, host, remote)} ${entryUpdates(r, host, remote)} ${setMarkStatement(bits)} return`];
}

/**
 * `onExpire: close`: a packet of an admitted connection, either direction, is dropped once its host no longer
 * holds the entry. The connection's own tuples name the host and the remote whatever the direction.
 */
function closeChain(r: RulePlan): string[] {
  const host = r.family === 'ipv4' ? 'ct reply ip saddr' : 'ct original ip6 daddr';
  const remote = r.family === 'ipv4' ? 'ct original ip saddr' : 'ct original ip6 saddr';
  return [`${heldBy(r, host, remote, true)} drop`];
}

function dnatChain(r: RulePlan): string[] {
  return r.rule.remote === 'any'
    ? [`dnat ip to ${idExpr(r)} map @${sharedSetName('target', 'ipv4', r.id)}`]
    : [`dnat ip to ${idExpr(r)} . ip saddr map @${sharedSetName('rtarget', 'ipv4', r.id)}`];
}

function chain(name: string, lines: readonly string[]): string {
  return [`\tchain ${name} {`, ...lines.map((l) => `\t\t${l}`), '\t}'].join('\n');
}

/**
 * A dispatch map element as nft writes it: `port or range : jump chain`. DNAT and close chains are reached by
 * `goto`: what follows their lookup has nothing left to do for a packet that found its rule (see dispatchLookups).
 */
export function dispatchElementText(e: DispatchElement): string {
  const verb = e.chain.startsWith('dn4_') || e.chain.startsWith('cl') ? 'goto' : 'jump';
  const ports = e.from === e.to ? `${e.from}` : `${e.from}-${e.to}`;
  return `${ports} : ${verb} ${e.chain}`;
}

/** How a kernel dispatch map is keyed: one port an element (a hash), or ranges (an interval tree). */
export type DispatchKeys = 'ports' | 'ranges';

/**
 * The kernel map that holds one protocol's elements of a dispatch map of one key kind. One map per protocol
 * keyed by the port alone; keyed by `protocol . port` it would be a concatenation, whose insertion checks
 * every element already there and made loading thousands of rules several times slower. One-port elements
 * live in a hash map: nft checks the elements of every interval map of the table for overlaps before any
 * element add or delete, so one interval map of thousands of ports made each rule change fetch them all.
 */
export function dispatchMapName(name: DispatchMap, protocol: Protocol, keys: DispatchKeys): string {
  return keys === 'ports' ? `${name}_${protocol}` : `${name}_${protocol}_ranges`;
}

/** The key kind of the kernel map an element goes into. */
export function dispatchKeysOf(e: DispatchElement): DispatchKeys {
  return e.from === e.to ? 'ports' : 'ranges';
}

/** A dispatch map as the kernel holds it: one protocol, one key kind, never empty. */
export interface KernelDispatchMap {
  readonly name: string;
  readonly map: DispatchMap;
  readonly protocol: Protocol;
  readonly keys: DispatchKeys;
  readonly elements: readonly DispatchElement[];
}

// Per dispatch object (plans of a switch share one): the base chains, the delta and the checks ask often.
const kernelMaps = new WeakMap<Plan['dispatch'], readonly KernelDispatchMap[]>();

/** The kernel maps of a plan's dispatch: an empty one is not declared, and no base chain looks it up. */
export function kernelDispatchMaps(plan: Plan): readonly KernelDispatchMap[] {
  let known = kernelMaps.get(plan.dispatch);
  if (!known) {
    known = splitDispatch(plan);
    kernelMaps.set(plan.dispatch, known);
  }
  return known;
}

function splitDispatch(plan: Plan): KernelDispatchMap[] {
  return DISPATCH_MAPS.flatMap((map) =>
    (['tcp', 'udp'] as const).flatMap((protocol) =>
      (['ports', 'ranges'] as const).flatMap((keys) => {
        const elements = plan.dispatch[map].filter(
          (e) => e.protocol === protocol && dispatchKeysOf(e) === keys,
        );
        const name = dispatchMapName(map, protocol, keys);
        return elements.length > 0 ? [{ name, map, protocol, keys, elements }] : [];
      }),
    ),
  );
}

function dispatchMapDecl(m: KernelDispatchMap): string {
  // Several elements a line, so that a config of many rules stays a readable script.
  const rows: string[] = [];
  for (let i = 0; i < m.elements.length; i += 8)
    rows.push(
      m.elements
        .slice(i, i + 8)
        .map(dispatchElementText)
        .join(', '),
    );
  const body = rows.map((row) => `\t\t\t${row}`).join(',\n');
  const flags = m.keys === 'ranges' ? ' flags interval;' : '';
  return `\tmap ${m.name} {\n\t\ttype inet_service : verdict;${flags}\n\t\telements = {\n${body}\n\t\t}\n\t}`;
}

/**
 * The lookups of one protocol of a dispatch map. With both a port map and a range map, one chain holds the two
 * lookups: the base chain's tests (a fib lookup among them) run once, and a jump makes both lookups. A port is
 * in at most one of the two maps (the elements never overlap), so a connection's first packet reaches one
 * rule chain at most, as with one map. The DNAT map is the exception: its elements `goto` their chain, so
 * that a packet its chain does not translate ends the base chain there (the learning rules after it record
 * only what no rule of ours took); from a chain of lookups it would come back to the base chain instead. So
 * the base chain looks up its two maps in two rules. The close maps too: the rules of `closing` exclude each
 * other (family, protocol, direction), so a packet whose close chain returns is done with `closing`, and the goto
 * of their elements returns it to `forward` at once, with no jump to a lookup chain and no second lookup after
 * a hit in the port map.
 */
interface DispatchLookup {
  readonly protocol: Protocol;
  /** The verdict of one base chain rule: a map lookup, or a jump to `chain`. */
  readonly verdict: string;
  readonly chain?: { readonly name: string; readonly lines: readonly string[] };
}

function dispatchLookups(
  maps: readonly KernelDispatchMap[],
  m: DispatchMap,
  field: 'dport' | 'sport',
): DispatchLookup[] {
  return (['tcp', 'udp'] as const).flatMap((protocol) => {
    const lookups = maps
      .filter((k) => k.map === m && k.protocol === protocol)
      .map((k) => `th ${field} vmap @${k.name}`);
    if (lookups.length === 1 || m === 'dnat4' || m === 'close4' || m === 'close6')
      return lookups.map((verdict) => ({ protocol, verdict }));
    if (lookups.length === 0) return [];
    const name = `${m}_${protocol}_${field}`;
    return [{ protocol, verdict: `jump ${name}`, chain: { name, lines: lookups } }];
  });
}

// The fields each dispatch map is looked up by: `onExpire: close` matches both directions of a connection.
const LOOKUP_FIELDS: Readonly<Record<DispatchMap, readonly ('dport' | 'sport')[]>> = {
  trigger4: ['dport'],
  trigger6: ['dport'],
  dnat4: ['dport'],
  inbound4: ['dport'],
  inbound6: ['dport'],
  close4: ['dport', 'sport'],
  close6: ['dport', 'sport'],
};

/** The chains that look up a port map and a range map of one protocol, in the order the table declares them. */
function lookupChains(plan: Plan): { readonly name: string; readonly lines: readonly string[] }[] {
  const maps = kernelDispatchMaps(plan);
  return DISPATCH_MAPS.flatMap((m) =>
    LOOKUP_FIELDS[m].flatMap((field) => dispatchLookups(maps, m, field).flatMap((l) => l.chain ?? [])),
  );
}

/** The names of the base chains a plan renders, with the dispatch lookup chains; the others are rule chains. */
export function baseChainNames(plan: Plan): string[] {
  const hasClose = plan.dispatch.close4.length > 0 || plan.dispatch.close6.length > 0;
  const standalone = plan.config.mode === 'standalone';
  return [
    'dstnat',
    'srcnat',
    ...(hasClose ? ['closing'] : []),
    ...(standalone || hasClose ? ['forward'] : []),
    ...lookupChains(plan).map((c) => c.name),
  ];
}

/**
 * The hooks. porttrigger's work runs in the NAT chains, which the kernel evaluates only for the first packet
 * of a connection: established packets never pass a chain of ours. A forward chain exists only for what must
 * see every packet: the standalone firewall (a standard stateful policy) and `onExpire: close` (one test of
 * the connection mark).
 */
function baseChains(plan: Plan): string[] {
  const { interfaces, mode } = plan.config;
  const lan = quoteIfaces(interfaces.lan);
  const wan = quoteIfaces(interfaces.wan);
  const standalone = mode === 'standalone';
  const dstnat: string[] = [];
  const srcnat: string[] = [];
  const maps = kernelDispatchMaps(plan);
  // One rule for each protocol the map has elements for (two for a DNAT map of ports and ranges). The cheap
  // tests come first, so that a packet reaches the interface and route tests (a fib lookup) of one protocol's
  // rules at most. Switched off, no map is looked up: the maps and rule chains stay, unreachable.
  const when = (into: string[], m: DispatchMap, match: string, field: 'dport' | 'sport' = 'dport'): void => {
    if (!plan.config.enabled) return;
    const family = m.endsWith('4') ? 'ipv4' : 'ipv6';
    for (const { protocol, verdict } of dispatchLookups(maps, m, field)) {
      const test = `meta nfproto ${family} meta l4proto ${protocol}${match ? ` ${match}` : ''}`;
      into.push(`${test} ${verdict}`);
    }
  };
  // A trigger arrives on a LAN interface and is routed out through a WAN interface.
  when(dstnat, 'trigger4', `iifname ${lan} fib daddr oifname ${wan}`);
  when(dstnat, 'trigger6', `iifname ${lan} fib daddr oifname ${wan}`);
  when(dstnat, 'dnat4', `iifname ${wan} fib daddr type local`);
  when(dstnat, 'inbound6', `iifname ${wan}`);
  // After DNAT the destination is the holder: refresh its entry and mark the connection.
  when(srcnat, 'inbound4', 'ct status dnat');
  if (plan.learn) dstnat.push(...learnRules(plan.learn, interfaces));
  if (standalone) srcnat.push(`oifname ${wan} meta nfproto ipv4 masquerade`);
  const out = [
    // Declared before the base chains that jump to them.
    ...lookupChains(plan).map((c) => chain(c.name, c.lines)),
    chain('dstnat', ['type nat hook prerouting priority dstnat; policy accept;', ...dstnat]),
    chain('srcnat', ['type nat hook postrouting priority srcnat; policy accept;', ...srcnat]),
  ];
  const names = baseChainNames(plan);
  const forward: string[] = [];
  if (names.includes('closing')) {
    const closing: string[] = [];
    when(closing, 'close4', 'ct direction original');
    when(closing, 'close4', 'ct direction reply', 'sport');
    when(closing, 'close6', 'ct direction original');
    when(closing, 'close6', 'ct direction reply', 'sport');
    out.push(chain('closing', closing));
    // One test of the mark per packet; only connections of `onExpire: close` rules go further. Switched off,
    // every entry is gone and nothing is closed, as with no rule.
    if (plan.config.enabled)
      forward.push(`ct mark & ${markHex(CT_MARK.close)} == ${markHex(CT_MARK.close)} jump closing`);
  }
  if (standalone) {
    const admitted = CT_MARK.ours | CT_MARK.inbound;
    forward.push(
      'ct state established,related accept',
      'ct state invalid drop',
      `iifname ${lan} accept`,
      'ct status dnat accept comment "IPv4 entries of porttrigger"',
      `ct mark & ${markHex(admitted)} == ${markHex(admitted)} accept comment "IPv6 entries of porttrigger"`,
    );
  }
  if (names.includes('forward')) {
    const policy = standalone ? 'drop' : 'accept';
    out.push(chain('forward', [`type filter hook forward priority filter; policy ${policy};`, ...forward]));
  }
  return out;
}

/** The chains of one rule plan with their lines, in the order the table declares them. */
export function ruleChains(r: RulePlan): [string, string[]][] {
  return [
    [r.chains.trigger, triggerChain(r)],
    [r.chains.inbound, inboundChain(r)],
    ...(r.chains.dnat ? [[r.chains.dnat, dnatChain(r)] as [string, string[]]] : []),
    ...(r.chains.close ? [[r.chains.close, closeChain(r)] as [string, string[]]] : []),
  ];
}

/** The base chains of a plan as text: two plans with the same text differ only in rule chains and elements. */
export function baseChainsText(plan: Plan): string {
  return baseChains(plan).join('\n');
}

/**
 * The table declaration for a plan: sets, maps and chains with all their rules.
 * @example renderTable(planConfig(config))
 */
export function renderTable(plan: Plan): string {
  const parts: string[] = [];
  parts.push(...sharedSetDecls('ipv4'), ...sharedSetDecls('ipv6'));
  parts.push(...kernelDispatchMaps(plan).map(dispatchMapDecl));
  for (const r of plan.chained) for (const [name, lines] of ruleChains(r)) parts.push(chain(name, lines));
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

/** One element add (with timeout and expiry) or delete as an nft command line. */
export function elementLine(e: SeedElement): string {
  if (e.timeoutMs === undefined) return `delete element ${T} ${e.set} { ${e.key} }`;
  const value = e.value === undefined ? '' : ` : ${e.value}`;
  return `add element ${T} ${e.set} { ${e.key} timeout ${e.timeoutMs}ms expires ${e.expiresMs}ms${value} }`;
}

// With the names of earlier versions (one map of `protocol . port`), so that an upgrade deletes them. A map of
// an earlier version's shape (one interval map a protocol) is deleted and declared anew like every dispatch map.
const DISPATCH = /^(trigger|dnat|inbound|reply|close)[46](_tcp|_udp)?(_ranges)?$/;

/**
 * One atomic transaction from whatever our table holds now to the plan: flush the rules, delete every
 * dispatch map (they are re-created whole) and the chains and sets the plan no longer has, declare the table,
 * then delete and add the elements that the change of rules calls for. The shared sets keep their elements
 * across the flush, so unchanged rules keep their entries.
 */
export function renderApplyScript(
  plan: Plan,
  existing: ExistingObjects,
  elements: readonly SeedElement[] = [],
): string {
  const lines = [`table ${T}`, `flush table ${T}`];
  if (existing.table) {
    const keepChains = new Set([
      ...plan.chained.flatMap((r) => Object.values(r.chains).filter((c): c is string => !!c)),
      ...plan.fanouts.map((f) => f.name),
      ...baseChainNames(plan),
    ]);
    const shared = new Set(SHARED_SET_NAMES);
    // Maps first: their verdict elements hold references to the chains deleted below.
    for (const name of [...existing.maps].sort())
      if (DISPATCH.test(name)) lines.push(`delete map ${T} ${name}`);
    for (const name of [...existing.chains].sort()) {
      if (!keepChains.has(name)) lines.push(`delete chain ${T} ${name}`);
    }
    for (const name of [...existing.maps].sort()) {
      if (!DISPATCH.test(name) && !shared.has(name)) lines.push(`delete map ${T} ${name}`);
    }
    for (const name of [...existing.sets].sort())
      if (!shared.has(name)) lines.push(`delete set ${T} ${name}`);
  }
  const ordered = [
    ...elements.filter((e) => e.timeoutMs === undefined),
    ...elements.filter((e) => e.timeoutMs !== undefined),
  ];
  return `${lines.join('\n')}\n${renderTable(plan)}${ordered.map(elementLine).join('\n')}${ordered.length ? '\n' : ''}`;
}

/** A script of element operations alone, in the order given (a release). */
export function renderElementScript(elements: readonly SeedElement[]): string {
  return `${elements.map(elementLine).join('\n')}\n`;
}

/** The script that removes our table and nothing else. */
export function renderRemoveScript(): string {
  return `table ${T}\ndelete table ${T}\n`;
}
