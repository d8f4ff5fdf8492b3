/** Element ids of things the panel swaps one by one (rows, items, buttons), from what they show. */

/**
 * A stable id from the identity of what an element shows (any text, hashed): the same on every render and
 * every push, so that a push can replace or remove exactly that element. Not secret.
 * @example elementId('entry', 'game', 'ipv4', '192.168.1.10', undefined) // 'entry-1a2b…'
 */
export function elementId(kind: string, ...parts: readonly (string | undefined)[]): string {
  // FNV-1a over the parts, twice with different primes: 64 bits, so that two live rows never share an id.
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (const ch of parts.map((p) => p ?? '').join('\u0000')) {
    const code = ch.codePointAt(0) ?? 0;
    a = Math.imul(a ^ code, 0x01000193) >>> 0;
    b = Math.imul(b ^ code, 0x5bd1e995) >>> 0;
  }
  return `${kind}-${a.toString(16).padStart(8, '0')}${b.toString(16).padStart(8, '0')}`;
}
