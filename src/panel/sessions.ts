/**
 * Panel sessions: random ids in an HttpOnly cookie, one CSRF token each, an idle timeout, a bounded store. The
 * sign-in's token check is the API's token gate (api/token-gate.ts).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

/** One signed-in browser. */
export interface Session {
  readonly id: string;
  /** Sent back with every state-changing request (form field `_csrf` or header `X-CSRF-Token`). */
  readonly csrf: string;
  lastSeen: number;
}

/** Options for {@link SessionStore}. */
export interface SessionOptions {
  /** A session unused this long is gone (default 30 min). */
  readonly idleMs?: number;
  /** At most this many sessions; the least recently used goes first (default 64). */
  readonly max?: number;
  readonly clock?: () => number;
}

/** Constant-time comparison of two strings. */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function secret(): string {
  return randomBytes(32).toString('base64url');
}

/** The sessions of the panel, in memory: a restart signs everyone out, which is the safe side. */
export class SessionStore {
  readonly idleMs: number;
  readonly #max: number;
  readonly #clock: () => number;
  readonly #sessions = new Map<string, Session>();

  constructor(options: SessionOptions = {}) {
    this.idleMs = options.idleMs ?? 30 * 60_000;
    this.#max = options.max ?? 64;
    this.#clock = options.clock ?? Date.now;
  }

  /** A new session. */
  create(): Session {
    while (this.#sessions.size >= this.#max) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest === undefined) break;
      this.#sessions.delete(oldest);
    }
    const session: Session = { id: secret(), csrf: secret(), lastSeen: this.#clock() };
    this.#sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id, touched; undefined when unknown or idle too long (then it is dropped). */
  use(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const session = this.#sessions.get(id);
    if (!session) return undefined;
    const now = this.#clock();
    this.#sessions.delete(id);
    if (now - session.lastSeen > this.idleMs) return undefined;
    session.lastSeen = now;
    // Re-inserted so the map's order is least recently used first.
    this.#sessions.set(id, session);
    return session;
  }

  /** Ends a session (sign-out). */
  end(id: string): void {
    this.#sessions.delete(id);
  }
}
