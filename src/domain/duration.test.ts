import { describe, expect, it } from 'vitest';
import { formatDurationSeconds, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['90', 90],
    [' 600 ', 600],
    ['90s', 90],
    ['10m', 600],
    ['2h', 7200],
    ['1d', 86_400],
    ['1h30m', 5400],
    ['1d2h3m4s', 93_784],
    ['0', 0],
  ])('reads %j as %d seconds', (text, seconds) => {
    expect(parseDuration(text)).toEqual({ ok: true, seconds });
  });

  it.each(['', '1.5m', '10 m', '-5', '5ms', '1w', 'm', '30m1h', '1h1h', '10M', 'ten', '1e3'])(
    'refuses %j and says the grammar',
    (text) => {
      const r = parseDuration(text);
      expect(r.ok).toBe(false);
      if (!r.ok)
        expect(r.error).toMatch(/is not a duration: write seconds \(90\) or a number with d, h, m or s/);
    },
  );

  it('writes back what it reads', () => {
    for (const s of [1, 59, 60, 90, 600, 3600, 5400, 86_400, 93_784]) {
      expect(parseDuration(formatDurationSeconds(s))).toEqual({ ok: true, seconds: s });
    }
  });
});
