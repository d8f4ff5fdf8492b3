/**
 * Which devices a learning session keeps: those inside the LAN's subnets. A connection from another address
 * that reaches the LAN interface (a routed network behind a device, a spoofed source) is no LAN device's
 * application, so it is ignored, counted, and said. Pure.
 */
import { inSubnets } from '../lan-device.js';
import type { SeenConnection } from './recorder.js';

/** How many addresses outside the LAN a session names; the rest are counted. */
export const OUTSIDE_SOURCES_KEPT = 10;

/** What a session knows of the LAN's subnets and what it ignored for being outside them. */
export interface LanScope {
  /** The LAN subnets the session kept devices from; absent when they could not be read. */
  readonly lanSubnets?: readonly string[];
  /** Outbound connections from addresses outside {@link LanScope.lanSubnets}, ignored. */
  readonly outsideLan: number;
  /** The first {@link OUTSIDE_SOURCES_KEPT} of their addresses. */
  readonly outsideLanSources: readonly string[];
}

/**
 * True when a session limited to `lanSubnets` keeps `c`: an inbound attempt comes from the WAN and is always
 * kept; an outbound connection when its device is in a LAN subnet (every one while the subnets are unknown).
 */
export function keptByLanScope(c: SeenConnection, lanSubnets: readonly string[] | undefined): boolean {
  if (c.direction === 'inbound' || lanSubnets === undefined) return true;
  return inSubnets(c.source, lanSubnets);
}

/**
 * What a person must know of the session's LAN scope, as a note like the proposals' (no capital, no full stop),
 * or undefined when there is nothing to say.
 * @example lanScopeNote({ lanSubnets: ['192.168.1.0/24'], outsideLan: 2, outsideLanSources: ['10.9.0.5'] })
 * // 'ignored 2 outbound connections from addresses outside the LAN subnets (192.168.1.0/24): 10.9.0.5'
 */
export function lanScopeNote(scope: LanScope): string | undefined {
  if (scope.lanSubnets === undefined) {
    return 'the LAN subnets could not be read (no address of a LAN interface was seen): connections of every LAN address were kept';
  }
  if (scope.outsideLan === 0) return undefined;
  const n = scope.outsideLan;
  const sources = scope.outsideLanSources.join(', ');
  // Once the list is full, other addresses may have been ignored too.
  const which =
    scope.outsideLanSources.length < OUTSIDE_SOURCES_KEPT ? `: ${sources}` : `, among them ${sources}`;
  return `ignored ${n} outbound connection${n === 1 ? '' : 's'} from addresses outside the LAN subnets (${scope.lanSubnets.join(', ')})${which}`;
}
