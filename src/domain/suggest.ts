/** "Did you mean" for misspelt names: commands, options, config keys. */

/** Levenshtein distance between two words. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/**
 * The closest of `candidates` to `word`, when it is close enough to be a typo (case counts as half a typo:
 * `idletimeout` finds `idleTimeout`).
 * @example suggest('stauts', ['status', 'rules']) // 'status'
 */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const name of candidates) {
    const d = Math.min(distance(word, name), distance(word.toLowerCase(), name.toLowerCase()) + 0.5);
    if (!best || d < best.d) best = { name, d };
  }
  return best && best.d <= Math.max(2, Math.floor(best.name.length / 3)) ? best.name : undefined;
}
