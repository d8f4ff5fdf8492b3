import { rangesByProtocol } from '../domain/ports.js';
import type { Rule } from '../domain/types.js';

/** 32-bit FNV-1a over UTF-16 code units, as 8 hex digits: a stable, dependency-free name hash. */
export function hash32(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/**
 * Identity of a rule's entries: its name, open ports and remote policy. Entries survive a reload only while
 * this stays the same (docs/semantics.md, 12). User text reaches nft only through this hash.
 */
export function entryIdentity(rule: Rule): string {
  const open = rangesByProtocol(rule.open);
  const ports = (['tcp', 'udp'] as const)
    .map((p) => open[p].map((r) => `${r.from}-${r.to}`).join(','))
    .join('|');
  return hash32(`${rule.name}\u0000${ports}\u0000${rule.remote}`);
}
