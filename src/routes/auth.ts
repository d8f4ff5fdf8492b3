/** The bearer-token check of the API. The token itself is handed in by the composition root. */
import { createHash, timingSafeEqual } from 'node:crypto';

/** Compares a presented token with the expected one in constant time; an empty expected token matches nothing. */
export function tokensEqual(expected: string, presented: string): boolean {
  // Hashing first gives equal lengths, which timingSafeEqual needs, without leaking the expected length.
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(presented).digest();
  return timingSafeEqual(a, b) && expected.length > 0;
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer +(\S+) *$/i.exec(header ?? '')?.[1];
}
