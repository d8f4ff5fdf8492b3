/**
 * The events of the service: what changed in the trigger table between two read-backs, and what happened to the
 * gateway's WAN (its address changed, its link went away or came back). The service emits them live (stream,
 * logs) and stores them (event history); the API and the CLI show them as they are here.
 */
import type { Family } from '../domain/types.js';

/** Why an entry closed. `rule-changed`: an apply dropped it because its rule's open ports or scope changed. */
export type CloseReason =
  | 'expired'
  | 'released'
  | 'rule-disabled'
  | 'rule-removed'
  | 'rule-changed'
  | 'stopped';

/** Every close reason, in a stable order (metrics labels, docs). */
export const CLOSE_REASONS: readonly CloseReason[] = [
  'expired',
  'released',
  'rule-disabled',
  'rule-removed',
  'rule-changed',
  'stopped',
];

/** Every event type: the one place they are spelled. The `wan-*` events are the gateway's and have no rule. */
export const EVENT_TYPES = [
  'opened',
  'closed',
  'conflict',
  'blocked',
  'wan-changed',
  'wan-down',
  'wan-up',
] as const;

/** The kinds of events. */
export type EventType = (typeof EVENT_TYPES)[number];

/** Whether a string is one of the event types. */
export function isEventType(value: string): value is EventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}

/** An entry appeared: `host` now receives the rule's open ports (from `remote` only, when set). */
export interface OpenedEvent {
  readonly type: 'opened';
  /** When it opened (estimated from the read-back; first sight for adopted entries). */
  readonly at: number;
  readonly rule: string;
  readonly family: Family;
  readonly host: string;
  readonly remote?: string;
  readonly expiresAt: number;
  /** The entry was already in the kernel when the service started (it survived a restart). */
  readonly adopted?: true;
}

/** An entry is gone. */
export interface ClosedEvent {
  readonly type: 'closed';
  readonly at: number;
  readonly rule: string;
  readonly family: Family;
  readonly host: string;
  readonly remote?: string;
  readonly reason: CloseReason;
  readonly openedAt: number;
}

/** A trigger from `contender` was refused because `holder` held the rule (for `remote`, if set). */
export interface ConflictEvent {
  readonly type: 'conflict';
  readonly at: number;
  readonly rule: string;
  readonly family: Family;
  readonly contender: string;
  readonly holder?: string;
  readonly remote?: string;
}

/** A trigger from `host` was refused because the rule's `lanHosts` does not allow it. */
export interface BlockedEvent {
  readonly type: 'blocked';
  readonly at: number;
  readonly rule: string;
  readonly family: Family;
  readonly host: string;
}

/** An event of the trigger table: it belongs to a rule. */
export type TriggerEvent = OpenedEvent | ClosedEvent | ConflictEvent | BlockedEvent;

/**
 * The global addresses of a WAN interface changed while its link stayed up (a DHCP lease with another address).
 * Entries keep forwarding: rules match interfaces by name and the gateway's addresses as they are now.
 */
export interface WanChangedEvent {
  readonly type: 'wan-changed';
  readonly at: number;
  readonly interface: string;
  /** The addresses it had (empty when it had none). */
  readonly previous: readonly string[];
  /** The addresses it has now (empty when it lost them all). */
  readonly addresses: readonly string[];
}

/** A WAN interface went away or lost its link (a PPP session ended, a cable was pulled). */
export interface WanDownEvent {
  readonly type: 'wan-down';
  readonly at: number;
  readonly interface: string;
  /** The addresses it had. */
  readonly previous: readonly string[];
}

/** A WAN interface appeared or got its link back (a new `ppp0`), with the addresses it has now. */
export interface WanUpEvent {
  readonly type: 'wan-up';
  readonly at: number;
  readonly interface: string;
  readonly addresses: readonly string[];
  /** The addresses it had before it went down, when the service saw it before. */
  readonly previous?: readonly string[];
}

/** An event of the gateway's WAN: it belongs to no rule. */
export type WanEvent = WanChangedEvent | WanDownEvent | WanUpEvent;

/** One event of the service. */
export type ServiceEvent = TriggerEvent | WanEvent;

/** An event with the id the event history gave it (absent when the history could not store it). */
export type PublishedEvent = ServiceEvent & { readonly id?: number };

/** Whether an event is the gateway's WAN's rather than a rule's. */
export function isWanEvent(event: ServiceEvent): event is WanEvent {
  return event.type === 'wan-changed' || event.type === 'wan-down' || event.type === 'wan-up';
}

/** The LAN hosts an event is about (holder, contender), for the `host` filter; none for WAN events. */
export function hostsOfEvent(event: ServiceEvent): readonly string[] {
  if (event.type === 'conflict') return event.holder ? [event.contender, event.holder] : [event.contender];
  return isWanEvent(event) ? [] : [event.host];
}

/** The addresses of a WAN event as words: `203.0.113.9`, `203.0.113.9 and 2001:db8::9`. */
function addressesText(addresses: readonly string[]): string {
  return addresses.join(' and ');
}

/** What a WAN event says, in one sentence for the CLI and the panel. */
export function describeWanEvent(event: WanEvent): string {
  const iface = `WAN ${event.interface}`;
  switch (event.type) {
    case 'wan-changed':
      if (event.addresses.length === 0) return `${iface} lost its address ${addressesText(event.previous)}`;
      if (event.previous.length === 0) return `${iface} got the address ${addressesText(event.addresses)}`;
      return `${iface} is now ${addressesText(event.addresses)} (was ${addressesText(event.previous)})`;
    case 'wan-down':
      return event.previous.length > 0
        ? `${iface} went down (it had ${addressesText(event.previous)})`
        : `${iface} went down`;
    case 'wan-up': {
      const now =
        event.addresses.length > 0 ? `with ${addressesText(event.addresses)}` : 'with no address yet';
      const before = event.previous?.length
        ? addressesText(event.previous) === addressesText(event.addresses)
          ? ' (the same as before)'
          : ` (was ${addressesText(event.previous)})`
        : '';
      return `${iface} is up ${now}${before}`;
    }
  }
}
