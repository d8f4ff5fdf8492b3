import { parseAddress, parsePrefix, prefixContains } from '../core/address.js';
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

/**
 * Entries to carry into sets that the plan re-creates (their declaration changed: idle timeout or LAN hosts):
 * still allowed holders, expiry kept but capped at the new idle timeout (docs/semantics.md, 12).
 */
export function planSeeds(plan: Plan, state: KernelState): SeedElement[] {
  const seeds: SeedElement[] = [];
  for (const r of plan.rules) {
    const timeoutMs = r.rule.idleTimeout * 1000;
    const gate = r.rule.remote === 'any' ? 'h' : 'p';
    if (state.sets.has(r.entrySets[gate] ?? '')) continue;
    for (const old of previousSets(r, state, gate)) {
      for (const e of old.elements) {
        const expiresMs = Math.min(Math.floor(e.expiresS * 1000), timeoutMs);
        if (!(expiresMs > 0)) continue;
        const s = r.entrySets;
        const at = { timeoutMs, expiresMs };
        if (r.rule.remote === 'any') {
          const holder = e.key[0]!;
          if (!allowed(r, holder)) continue;
          seeds.push({ set: s.h!, key: holder, ...at });
          if (s.d) seeds.push({ set: s.d, key: 'ipv4', value: holder, ...at });
        } else {
          const [remote, holder] = [e.key[0]!, e.key[1]!];
          if (!allowed(r, holder)) continue;
          if (s.m) seeds.push({ set: s.m, key: remote, value: holder, ...at });
          seeds.push({ set: s.p!, key: `${remote} . ${holder}`, ...at });
          seeds.push({ set: s.t!, key: remote, ...at });
        }
      }
    }
  }
  // Keys come from nft's own output; re-check they are addresses before they go back into a script.
  return seeds.filter(
    (x) =>
      x.key.split(' . ').every((k) => k === 'ipv4' || parseAddress(k)) && (!x.value || parseAddress(x.value)),
  );
}
