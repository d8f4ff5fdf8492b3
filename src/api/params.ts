/** The schemas of every path, query and body parameter of the API, and their conversion to issues. */
import { z } from 'zod';
import { MAX_PAGE } from '../adapters/event-store.js';
import { canonicalAddress } from '../domain/address.js';
import { fromZodIssues } from '../domain/config.js';
import { InvalidInputError, type Issue } from '../domain/errors.js';
import { EVENT_TYPES } from '../service/events.js';

/** Turns zod's issues into ours (the config validator's conversion). */
export function zodIssues(issues: readonly z.core.$ZodIssue[], input?: unknown): Issue[] {
  return fromZodIssues(issues, input);
}

/** Parses input with a schema or throws INVALID_INPUT with every issue. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new InvalidInputError(`invalid ${what}`, zodIssues(parsed.error.issues, input));
  return parsed.data;
}

/** Drops the keys whose value is undefined (optional properties are left out, never set to undefined). */
export function compact<T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

const address = z.string().transform((text, ctx) => {
  const canonical = canonicalAddress(text);
  if (canonical === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not an IPv4 or IPv6 address` });
    return z.NEVER;
  }
  return canonical;
});

/** A time as milliseconds since the epoch or an ISO 8601 date. */
const time = z.string().transform((text, ctx) => {
  const ms = /^\d{1,15}$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) {
    ctx.addIssue({
      code: 'custom',
      message: `"${text}" is not a time (milliseconds since the epoch or ISO 8601)`,
    });
    return z.NEVER;
  }
  return ms;
});

const ruleName = z.string().min(1).max(64);
const eventType = z.enum(EVENT_TYPES as ['opened', 'closed', 'conflict', 'blocked']);

/** The name in `/rules/:name`. */
export const ruleNameParam = ruleName;

/** Body of `POST /release`. */
export const releaseBody = z
  .object({
    rule: ruleName,
    holder: address.optional(),
    remote: address.optional(),
    family: z.enum(['ipv4', 'ipv6']).optional(),
  })
  .strict();

/** Query of `GET /events`. */
export const eventsQuery = z
  .object({
    rule: ruleName.optional(),
    host: address.optional(),
    type: eventType.optional(),
    since: time.optional(),
    until: time.optional(),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE).optional(),
    cursor: z.coerce.number().int().min(0).optional(),
    order: z.enum(['asc', 'desc']).optional(),
  })
  .strict();

/** Query of `GET /events/stream`: only live events that match are sent. */
export const streamQuery = z
  .object({ rule: ruleName.optional(), host: address.optional(), type: eventType.optional() })
  .strict();

/** Query of `GET /check`. */
export const checkQuery = z
  .object({
    port: z.coerce.number().int().min(1).max(65_535),
    protocol: z.enum(['tcp', 'udp']),
  })
  .strict();
