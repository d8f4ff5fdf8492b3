/**
 * The events of the service: what changed in the trigger table between two read-backs. The service emits them
 * live (stream, logs) and stores them (event history); the API and the CLI show them as they are here.
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

/** Every event type: the one place they are spelled. */
export const EVENT_TYPES = ['opened', 'closed', 'conflict', 'blocked'] as const;

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

/** One event of the service. */
export type TriggerEvent = OpenedEvent | ClosedEvent | ConflictEvent | BlockedEvent;

/** An event with the id the event history gave it (absent when the history could not store it). */
export type PublishedEvent = TriggerEvent & { readonly id?: number };
