/**
 * The one duration grammar of porttrigger, for the config (`idleTimeout`), the CLI (`--timeout`, `--for`,
 * `events --since`) and the panel: whole seconds (`90`), or numbers with units `d`, `h`, `m`, `s` written
 * largest first and each at most once (`10m`, `1d`, `1h30m`, `90s`).
 */

const UNIT_SECONDS = { d: 86_400, h: 3_600, m: 60, s: 1 } as const;
const GRAMMAR = /^(?:(\d{1,9})d)?(?:(\d{1,9})h)?(?:(\d{1,9})m)?(?:(\d{1,9})s)?$/;

/** How the grammar is described in messages and help texts. */
export const DURATION_GRAMMAR = 'seconds (90) or a number with d, h, m or s (10m, 1d, 1h30m)';

/**
 * Parses a duration into whole seconds; never throws.
 * @example parseDuration('1h30m') // { ok: true, seconds: 5400 }
 * @example parseDuration('2 days') // { ok: false, error: '"2 days" is not a duration: write seconds (90) or ...' }
 */
export function parseDuration(text: string): { ok: true; seconds: number } | { ok: false; error: string } {
  const t = text.trim();
  const fail = { ok: false as const, error: `"${text}" is not a duration: write ${DURATION_GRAMMAR}` };
  if (/^\d{1,9}$/.test(t)) return { ok: true, seconds: Number(t) };
  const m = t === '' ? null : GRAMMAR.exec(t);
  if (!m) return fail;
  const [, d, h, min, s] = m;
  const seconds =
    Number(d ?? 0) * UNIT_SECONDS.d +
    Number(h ?? 0) * UNIT_SECONDS.h +
    Number(min ?? 0) * UNIT_SECONDS.m +
    Number(s ?? 0);
  return { ok: true, seconds };
}

/**
 * A duration in seconds the way the grammar writes it, largest units first.
 * @example formatDurationSeconds(5400) // '1h30m'
 */
export function formatDurationSeconds(seconds: number): string {
  if (seconds === 0) return '0s';
  let rest = seconds;
  let out = '';
  for (const [unit, size] of Object.entries(UNIT_SECONDS)) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}
