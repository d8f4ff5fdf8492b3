import { parseAddress, parsePrefix, prefixContains } from '../core/address.js';
import type { TriggerTable } from '../core/types.js';
import type { Plan, RulePlan } from './plan.js';
import { parseEntrySetName } from './plan.js';
import type { SeedElement } from './render.js';
import type { KernelSet, KernelState } from './state.js';

function allowed(r: RulePlan, host: string): boolean {
  if (r.lanHosts === 'any') return true;
  const addr = parseAddress(host);
  if (!addr) return false;
  return r.lanHosts.some((p) => {
    const prefix = parsePrefix(p);
    return !('error' in prefix) && prefixContains(prefix, addr);
  });
}

/** The kernel sets that held this rule's entries under an older declaration (same entry identity). */
function previousSets(r: RulePlan, state: KernelState, letter: 'h' | 'p'): KernelSet[] {
  return [...state.sets.values()].filter((s) => {
    const parsed = parseEntrySetName(s.name);
    return (
      parsed?.letter === letter &&
      parsed.family === r.family &&
      parsed.entryId === r.entryId &&
      s.name !== r.entrySets[letter]
    );
  });
}

/** An entry to carry over: holder, remote when bound to one, and milliseconds left. */
interface Carried {
  readonly holder: string;
  readonly remote?: string;
  readonly leftMs: number;
}

function seedsFor(r: RulePlan, carried: readonly Carried[]): SeedElement[] {
  const timeoutMs = r.rule.idleTimeout * 1000;
  const s = r.entrySets;
  const out: SeedElement[] = [];
  for (const c of carried) {
    const expiresMs = Math.min(Math.floor(c.leftMs), timeoutMs);
    if (!(expiresMs > 0) || !allowed(r, c.holder)) continue;
    const at = { timeoutMs, expiresMs };
    if (r.rule.remote === 'any') {
      out.push({ set: s.h!, key: c.holder, ...at });
      if (s.d) out.push({ set: s.d, key: 'ipv4', value: c.holder, ...at });
      // One holder per rule: the size-1 set takes no second one.
      break;
    }
    if (c.remote === undefined) continue;
    if (s.m) out.push({ set: s.m, key: c.remote, value: c.holder, ...at });
    out.push({ set: s.p!, key: `${c.remote} . ${c.holder}`, ...at });
    out.push({ set: s.t!, key: c.remote, ...at });
  }
  return out;
}

/**
 * Entries to carry into entry sets that the plan creates: from sets of an older declaration of the same rule
 * (idle timeout or LAN hosts changed), or, when the kernel lost our table, from a remembered trigger table
 * (time left counted from `now`, the moment of the apply, when given).
 * Holders must still be allowed; expiry is kept but capped at the new idle timeout (docs/semantics.md, 12).
 */
export function planSeeds(
  plan: Plan,
  state: KernelState,
  remembered?: TriggerTable,
  now?: number,
): SeedElement[] {
  const seeds: SeedElement[] = [];
  for (const r of plan.rules) {
    const gate = r.rule.remote === 'any' ? 'h' : 'p';
    if (state.sets.has(r.entrySets[gate] ?? '')) continue;
    const fromKernel = previousSets(r, state, gate).flatMap((old) =>
      old.elements.map((e) =>
        gate === 'h'
          ? { holder: e.key[0]!, leftMs: e.expiresS * 1000 }
          : { remote: e.key[0]!, holder: e.key[1]!, leftMs: e.expiresS * 1000 },
      ),
    );
    const fromMemory = (remembered?.entries ?? [])
      .filter(
        (e) => e.rule === r.rule.name && e.family === r.family && (e.remote !== undefined) === (gate === 'p'),
      )
      .map((e) => ({
        holder: e.holder,
        ...(e.remote !== undefined ? { remote: e.remote } : {}),
        leftMs: e.expiresAt - (now ?? remembered!.at),
      }));
    seeds.push(...seedsFor(r, fromKernel.length > 0 ? fromKernel : fromMemory));
  }
  // Keys come from nft output or memory; re-check they are addresses before they go back into a script.
  return seeds.filter(
    (x) =>
      x.key.split(' . ').every((k) => k === 'ipv4' || parseAddress(k)) && (!x.value || parseAddress(x.value)),
  );
}
