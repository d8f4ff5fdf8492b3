/** Page sizes of the event history: the store enforces them and the API documents and validates them. */

/** The largest page of events one query returns. */
export const MAX_PAGE = 1000;

/** The page size when a query names none. */
export const DEFAULT_PAGE = 100;
