/**
 * Follows the gateway's WAN and says what happened to it: `wan-changed` when a WAN interface's addresses change
 * under a link that stays up (DHCP), `wan-down` and `wan-up` when the link goes away and comes back (a new
 * `ppp0`). Nothing is applied again: rules match interfaces by name and the gateway's addresses as they are now,
 * so entries keep forwarding; the events are there so that a person can see why a port was briefly unreachable.
 */
import { lanSubnetsOf } from '../domain/lan-device.js';
import { type NetworkLink, type WanInterfaceState, type WanState, wanStateOf } from '../domain/wan.js';
import type { ServiceContext } from './context.js';
import type { WanEvent } from './events.js';

/**
 * How long a WAN link that is up without an address may stay so before that is said: a DHCP client removes the
 * old address a few seconds before the new one comes, pppd brings `ppp0` up before it has its address; the
 * moment in between is not an event of its own.
 */
export const WAN_SETTLE_MS = 15_000;

/** A WAN interface as the service reports it (health, panel). */
export interface WanInterfaceStatus {
  readonly interface: string;
  readonly up: boolean;
  readonly addresses: readonly string[];
}

function sameAddresses(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** What {@link wanEvents} decided: the events, the state they report, and whether an interface waits to settle. */
export interface WanDiff {
  readonly events: readonly WanEvent[];
  readonly reported: WanState;
  readonly waiting: boolean;
}

/**
 * The events between the state last reported and the state seen now. An interface that is up without an address
 * waits (unless `settled`): its address is about to come, and the change is told once, from old to new.
 * `downAddresses` holds the addresses of interfaces that went down, for the `wan-up` that follows.
 */
export function wanEvents(
  reported: WanState,
  seen: WanState,
  at: number,
  settled: boolean,
  downAddresses: Map<string, readonly string[]>,
): WanDiff {
  const events: WanEvent[] = [];
  const next = new Map<string, WanInterfaceState>();
  let waiting = false;
  const names = [...new Set([...reported.keys(), ...seen.keys()])].sort();
  for (const name of names) {
    const before = reported.get(name);
    const now = seen.get(name);
    const wasUp = before?.up === true;
    const isUp = now?.up === true;
    const unsettled = isUp && now.addresses.length === 0 && !settled;
    if (wasUp && !isUp) {
      events.push({ type: 'wan-down', at, interface: name, previous: before.addresses });
      downAddresses.set(name, before.addresses);
    } else if (!wasUp && isUp) {
      if (unsettled) {
        waiting = true;
        if (before) next.set(name, before);
        continue;
      }
      const previous = downAddresses.get(name);
      downAddresses.delete(name);
      events.push({
        type: 'wan-up',
        at,
        interface: name,
        addresses: now.addresses,
        ...(previous ? { previous } : {}),
      });
    } else if (wasUp && isUp && !sameAddresses(before.addresses, now.addresses)) {
      if (unsettled) {
        waiting = true;
        next.set(name, before);
        continue;
      }
      events.push({
        type: 'wan-changed',
        at,
        interface: name,
        previous: before.addresses,
        addresses: now.addresses,
      });
    }
    if (now) next.set(name, now);
  }
  return { events, reported: next, waiting };
}

/** The WAN as the running service follows it; fed by the WAN watch, it publishes through the context. */
export class WanMonitor {
  readonly #ctx: ServiceContext;
  readonly #wanNames: () => readonly string[];
  readonly #settleMs: number;
  readonly #downAddresses = new Map<string, readonly string[]>();
  #links: readonly NetworkLink[] | undefined;
  #reported: WanState = new Map();
  #baseline: string | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(ctx: ServiceContext, wanNames: () => readonly string[], settleMs = WAN_SETTLE_MS) {
    this.#ctx = ctx;
    this.#wanNames = wanNames;
    this.#settleMs = settleMs;
  }

  /** Takes the links the watch reports now. */
  observe(links: readonly NetworkLink[]): void {
    this.#links = links;
    this.#settle(false);
  }

  /** The WAN interfaces (by the config's names now, a reload included) in the links last seen, sorted by name. */
  status(): readonly WanInterfaceStatus[] {
    return [...wanStateOf(this.#links ?? [], this.#wanNames())]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, s]) => ({ interface: name, up: s.up, addresses: s.addresses }));
  }

  /** The subnets of the LAN interfaces named `lanNames` in the links last seen; undefined before any were seen. */
  lanSubnets(lanNames: readonly string[]): string[] | undefined {
    return this.#links && lanSubnetsOf(this.#links, lanNames);
  }

  /** Stops the settle timer. */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #settle(settled: boolean): void {
    if (!this.#links || this.#ctx.stopping()) return;
    const names = this.#wanNames();
    const seen = wanStateOf(this.#links, names);
    // The first report, and the first after a reload that changed the WAN names, is where the service starts
    // from: an interface the config only now names did not change.
    const baseline = names.join('\n');
    if (baseline !== this.#baseline) {
      this.#baseline = baseline;
      this.#reported = seen;
      return;
    }
    const diff = wanEvents(this.#reported, seen, this.#ctx.clock(), settled, this.#downAddresses);
    this.#reported = diff.reported;
    if (diff.events.length > 0) this.#ctx.publish(diff.events);
    if (diff.waiting && this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#settle(true);
      }, this.#settleMs);
      this.#timer.unref();
    } else if (!diff.waiting) {
      this.close();
    }
  }
}
