/** The cross-site check of the panel: which Origin a state-changing request must come from. */

/**
 * Whether a state-changing request comes from the panel's own pages: its `Origin` (or, without one, its
 * `Referer`) has the scheme and host of the request itself. Browsers send Origin on every POST.
 */
export function sameOrigin(
  requestUrl: string,
  host: string | undefined,
  origin: string | undefined,
  referer: string | undefined,
): boolean {
  const scheme = new URL(requestUrl).protocol;
  const expected = `${scheme}//${host ?? ''}`.toLowerCase();
  const claimed = origin ?? (referer ? safeOrigin(referer) : undefined);
  if (claimed === undefined) return false;
  return claimed.toLowerCase() === expected;
}

function safeOrigin(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}
