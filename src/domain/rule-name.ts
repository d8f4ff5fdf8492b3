/**
 * What a rule name may be: printable text that reads the same in a log, a terminal and a URL. Names never
 * reach an nft script (rules are numbered), but they are shown to people and travel in API paths.
 */

// C0 and C1 controls, DEL, lone surrogates, and the line and paragraph separators.
const CONTROL = /[\p{Cc}\p{Cs}\u2028\u2029]/u;
// Bidirectional embeddings, overrides, isolates and marks: they make text display in another order than it is.
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

/**
 * Why `name` (already trimmed) cannot name a rule, or undefined when it can.
 * @example ruleNameProblem('..') // 'name must not be "." or ".." (a URL cannot carry it)'
 */
export function ruleNameProblem(name: string): string | undefined {
  // With the u flag a lone surrogate matches \p{Cs}; without it every surrogate would, pairs included.
  if (CONTROL.test(name)) return 'name must not contain control characters or lone surrogates';
  if (BIDI.test(name)) return 'name must not contain bidirectional control characters';
  if (name === '.' || name === '..') return 'name must not be "." or ".." (a URL cannot carry it)';
  return undefined;
}
