/**
 * What a rule name may be: printable text that reads the same in a log, a terminal and a URL. Names never
 * reach an nft script (rules are numbered), but they are shown to people and travel in API paths. Names are
 * kept in Unicode NFC, so that two names that look the same (`e\u0301te` and `\u00e9te`) are the same name.
 */

// C0 and C1 controls, DEL, lone surrogates, and the line and paragraph separators.
const CONTROL = /[\p{Cc}\p{Cs}\u2028\u2029]/u;
// Bidirectional embeddings, overrides, isolates and marks: they make text display in another order than it is.
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
// Invisible format characters (zero-width space, joiners, soft hyphen, BOM, tags): two names that differ only
// by them look the same.
const FORMAT = /\p{Cf}/u;
// A zero-width joiner inside an emoji sequence (👨‍👩‍👧) draws one visible picture: the one Cf that stays.
const EMOJI_JOINER =
  /(?<=\p{Extended_Pictographic}[\u{fe0f}\u{1f3fb}-\u{1f3ff}]?)\u200d(?=\p{Extended_Pictographic})/gu;

function codePoint(char: string): string {
  return `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Why `name` (already trimmed) cannot name a rule, or undefined when it can.
 * @example ruleNameProblem('..') // 'name must not be "." or ".." (a URL cannot carry it)'
 */
export function ruleNameProblem(name: string): string | undefined {
  // With the u flag a lone surrogate matches \p{Cs}; without it every surrogate would, pairs included.
  if (CONTROL.test(name)) return 'name must not contain control characters or lone surrogates';
  if (BIDI.test(name)) return 'name must not contain bidirectional control characters';
  const invisible = FORMAT.exec(name.replace(EMOJI_JOINER, ''));
  if (invisible) {
    return `name must not contain invisible format characters (${codePoint(invisible[0])}, such as a zero-width space or joiner)`;
  }
  if (name === '.' || name === '..') return 'name must not be "." or ".." (a URL cannot carry it)';
  return undefined;
}

/** A rule name as it is stored and compared: trimmed, in Unicode NFC. */
export function normalizeRuleName(name: string): string {
  return name.trim().normalize('NFC');
}

/**
 * The key under which names must be unique: NFC, regardless of case.
 * @example ruleNameKey('E\u0301te') === ruleNameKey('\u00e9te') // true
 */
export function ruleNameKey(name: string): string {
  return normalizeRuleName(name).toLowerCase();
}
