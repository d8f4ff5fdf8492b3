/**
 * The time each element of a set has left, from nft's text listing (`nft list set`): the JSON listing rounds it
 * down to the second, the text one prints milliseconds (`expires 1s234ms`). An entry's end is then known to the
 * millisecond, and the place can be given away at that moment instead of polled for.
 */

const UNIT_MS: Readonly<Record<string, number>> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };

/** `1s234ms`, `980ms`, `2m3s` as milliseconds; undefined for anything else. */
export function parseNftDuration(text: string): number | undefined {
  if (!/^(\d+(d|h|ms|m|s))+$/.test(text)) return undefined;
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)(d|h|ms|m|s)/g)) ms += Number(n) * UNIT_MS[unit!]!;
  return ms;
}

// A key is numbers and addresses joined by ` . `; then its timeout, then what it has left.
const ELEMENT = /((?:[0-9A-Fa-f.:]+)(?: \. [0-9A-Fa-f.:]+)*) timeout [0-9dhms]+ expires ([0-9dhms]+)/g;

/** Every element of a text set listing with a timeout: its key as nft prints it (`3 . 192.168.1.10`) → ms left. */
export function parseElementExpiries(listing: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [, key, left] of listing.matchAll(ELEMENT)) {
    const ms = parseNftDuration(left!);
    if (ms !== undefined) out.set(key!, ms);
  }
  return out;
}
