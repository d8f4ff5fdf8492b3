/**
 * The zod schemas of everything the API takes and gives: routes validate with them, the OpenAPI document is
 * generated from them (openapi.ts), and the CLI parses the service's replies with them (its types are
 * `z.infer` of these). Nothing else describes the API.
 */
import { z } from 'zod';
import { canonicalAddress } from '../domain/address.js';
import { LIMITS, ruleSchema } from '../domain/config.js';
import { API_ERROR_CODES, type ApiErrorCode } from '../domain/error-codes.js';
import { MAX_PAGE } from '../domain/paging.js';
import { CLOSE_REASONS, EVENT_TYPES } from '../service/events.js';
import { LEARN_DURATION as LEARN_LIMITS } from '../service/learn-sessions.js';

// ---- building blocks

const address = z
  .string()
  .transform((text, ctx) => {
    const canonical = canonicalAddress(text);
    if (canonical === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${text}" is not an IPv4 or IPv6 address` });
      return z.NEVER;
    }
    return canonical;
  })
  .meta({ description: 'An IPv4 or IPv6 address.' });

/** An address as the service reports it (canonical form). */
const addressOut = z.string().meta({ description: 'An IPv4 or IPv6 address.' });

/** A time as milliseconds since the epoch or an ISO 8601 date. */
const time = z
  .string()
  .transform((text, ctx) => {
    const ms = /^\d{1,15}$/.test(text) ? Number(text) : Date.parse(text);
    if (!Number.isFinite(ms)) {
      ctx.addIssue({
        code: 'custom',
        message: `"${text}" is not a time (milliseconds since the epoch or ISO 8601)`,
      });
      return z.NEVER;
    }
    return ms;
  })
  .meta({ description: 'Milliseconds since the epoch, or an ISO 8601 date.' });

const ms = z.number().int().meta({ description: 'Milliseconds since the Unix epoch.' });
const family = z.enum(['ipv4', 'ipv6']);
const ruleName = z.string().min(1).max(LIMITS.ruleName);
const eventType = z.enum(EVENT_TYPES);
const closeReason = z.enum(
  CLOSE_REASONS as ['expired', 'released', 'rule-disabled', 'rule-removed', 'rule-changed', 'stopped'],
);

// ---- inputs

/** The path parameters of `/rules/{name}`. */
export const ruleNameParams = z.object({
  name: ruleName.meta({ description: 'The rule name (URL-encoded: `voice%20call`).' }),
});

/** A rule as written in the config file; omitted fields take their defaults (the domain's schema). */
export const ruleInput = ruleSchema;

/** Body of `POST /release`. */
export const releaseBody = z
  .object({
    rule: ruleName,
    holder: address.optional(),
    remote: address.optional(),
    family: family.optional(),
  })
  .strict();

const filters = {
  rule: ruleName.optional().meta({ description: 'Only events of this rule.' }),
  host: address.optional().meta({ description: 'Only events of this host (holder, contender).' }),
  type: eventType.optional(),
};

/** Query of `GET /events`. */
export const eventsQuery = z
  .object({
    ...filters,
    since: time.optional(),
    until: time.optional(),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE).optional().meta({ description: 'Default 100.' }),
    cursor: z.coerce
      .number()
      .int()
      .min(0)
      .optional()
      .meta({ description: 'The `nextCursor` of the previous page.' }),
    order: z.enum(['asc', 'desc']).optional().meta({ description: 'Default desc: newest first.' }),
  })
  .strict();

/** Query of `GET /events/stream`: only live events that match are sent. */
export const streamQuery = z.object(filters).strict();

/** Query of `GET /check`. */
export const checkQuery = z
  .object({
    port: z.coerce
      .number({ message: 'port must be a number' })
      .int('port must be a whole number')
      .min(1, 'port must be 1-65535')
      .max(65_535, 'port must be 1-65535'),
    protocol: z.enum(['tcp', 'udp']),
  })
  .strict();

/** Body of `POST /config/validate` as JSON (YAML is sent as text). */
export const configInput = z
  .record(z.string(), z.unknown())
  .meta({ description: 'A whole config, as the config file holds it.' });

// ---- outputs

/** One problem found in input. */
export const issueSchema = z.object({
  path: z.array(z.union([z.string(), z.number().int()])),
  code: z.string().meta({ description: 'Stable code, e.g. bad_ports, open_overlap, required.' }),
  message: z.string(),
});

/** The body of every error answer. */
export const errorReply = z.object({
  error: z.object({
    code: z.enum(API_ERROR_CODES as unknown as [ApiErrorCode, ...ApiErrorCode[]]),
    message: z.string(),
    issues: z.array(issueSchema).optional(),
  }),
});

/** A rule as the service holds it: validated, defaults filled in. */
export const ruleOutput = ruleSchema;

/** What an apply did to the entries active before it. */
export const applyReport = z.object({
  kept: z.number().int().meta({ description: 'Entries carried over.' }),
  dropped: z.number().int().meta({ description: 'Entries closed by the change.' }),
});

/** `GET /rules`. */
export const rulesReply = z.object({ rules: z.array(ruleOutput) });

/** `GET /rules/{name}`. */
export const ruleReply = z.object({ rule: ruleOutput });

/** A rule created or changed, with the warnings of the new config and what the apply did. */
export const ruleChangeReply = z.object({
  rule: ruleOutput.optional(),
  warnings: z.array(issueSchema),
  applied: applyReport,
});

/** `POST /enable` and `POST /disable`: the global switch as it now is, the config's warnings, what the apply did. */
export const switchReply = z.object({
  enabled: z.boolean().meta({ description: 'Whether port triggering is on now.' }),
  warnings: z.array(issueSchema),
  applied: applyReport,
});

/** `DELETE /rules/{name}`. */
export const deleteReply = z.object({ deleted: z.string(), applied: applyReport });

/** One active entry of the trigger table. */
export const triggerEntry = z.object({
  rule: z.string(),
  family,
  holder: addressOut,
  remote: addressOut
    .optional()
    .meta({ description: 'The only remote admitted (rules with remote: contacted).' }),
  openedAt: ms.optional(),
  expiresAt: ms,
});

/** `GET /table`: the trigger table now. */
export const tableReply = z.object({
  at: ms,
  entries: z.array(triggerEntry),
  conflicts: z.array(
    z.object({
      rule: z.string(),
      family,
      contender: addressOut,
      holder: addressOut.optional(),
      remote: addressOut.optional(),
      at: ms,
    }),
  ),
  blocked: z.array(z.object({ rule: z.string(), family, host: addressOut, at: ms })),
  stale: z
    .literal(true)
    .optional()
    .meta({
      description:
        'Present when a fresh read did not answer in time (a slow or hung nft, a long apply): this is the last ' +
        'table read, as of `at`.',
    }),
});

/** `POST /release`. */
export const releaseReply = z.object({ released: z.number().int() });

/** `GET /check`. */
export const checkReply = z.object({
  port: z.number().int(),
  protocol: z.enum(['tcp', 'udp']),
  open: z.boolean().meta({ description: 'Some entry forwards this port now.' }),
  matches: z.array(
    z.object({
      rule: z.string(),
      enabled: z.boolean().meta({ description: 'The rule is enabled and so is the global switch.' }),
      entries: z.array(triggerEntry),
    }),
  ),
  at: ms.meta({ description: 'When the trigger table behind the answer was read.' }),
  stale: z.literal(true).optional().meta({
    description: 'Present when the answer comes from the last table read because a fresh read was slow.',
  }),
});

const eventId = z
  .number()
  .int()
  .optional()
  .meta({ description: 'Position in the history (absent if it could not be stored).' });

const eventBase = { id: eventId, at: ms, rule: z.string(), family };

/** The gateway's own events (its WAN) have no rule and no family. */
const wanBase = {
  id: eventId,
  at: ms,
  interface: z.string().meta({ description: 'The WAN interface, e.g. eth0 or ppp0.' }),
};
const wanAddresses = z.array(addressOut);

/** One event of the service. */
export const eventSchema = z.discriminatedUnion('type', [
  z.object({
    ...eventBase,
    type: z.literal('opened'),
    host: addressOut,
    remote: addressOut.optional(),
    expiresAt: ms,
    adopted: z
      .literal(true)
      .optional()
      .meta({ description: 'Already in the kernel when the service started.' }),
  }),
  z.object({
    ...eventBase,
    type: z.literal('closed'),
    host: addressOut,
    remote: addressOut.optional(),
    reason: closeReason,
    openedAt: ms,
  }),
  z.object({
    ...eventBase,
    type: z.literal('conflict'),
    contender: addressOut,
    holder: addressOut.optional(),
    remote: addressOut.optional(),
  }),
  z.object({ ...eventBase, type: z.literal('blocked'), host: addressOut }),
  z
    .object({
      ...wanBase,
      type: z.literal('wan-changed'),
      previous: wanAddresses.meta({ description: 'Its global addresses before.' }),
      addresses: wanAddresses.meta({ description: 'Its global addresses now (empty: it lost them).' }),
    })
    .meta({ description: "A WAN interface's addresses changed while its link stayed up (DHCP)." }),
  z
    .object({
      ...wanBase,
      type: z.literal('wan-down'),
      previous: wanAddresses.meta({ description: 'The global addresses it had.' }),
    })
    .meta({ description: 'A WAN interface went away or lost its link (a PPP session ended).' }),
  z
    .object({
      ...wanBase,
      type: z.literal('wan-up'),
      addresses: wanAddresses.meta({ description: 'Its global addresses now.' }),
      previous: wanAddresses.optional().meta({ description: 'The addresses it had before it went down.' }),
    })
    .meta({ description: 'A WAN interface appeared or got its link back (a new ppp0).' }),
]);

/** `GET /events`: one page. */
export const eventPageReply = z.object({
  events: z.array(eventSchema),
  nextCursor: z
    .string()
    .regex(/^\d+$/)
    .optional()
    .meta({ description: 'Pass as `cursor` for the next page; absent on the last.' }),
});

/** `POST /config/validate`. */
export const validationReply = z.object({
  ok: z.boolean(),
  issues: z.array(issueSchema),
  warnings: z.array(issueSchema),
});

/** `POST /reload` when the file was valid (an invalid one is a 400 INVALID_INPUT). */
export const reloadReply = z.object({
  ok: z.literal(true),
  warnings: z.array(issueSchema),
  applied: applyReport,
});

const componentStatus = z.enum(['ok', 'failing']);

const signalStream = z.enum(['running', 'restarting', 'unavailable']);

/** `GET /health`. */
export const healthReply = z.object({
  status: z.enum(['ok', 'degraded']),
  reasons: z
    .array(z.string())
    .meta({ description: 'Why the status is degraded, one sentence per fault; empty when ok.' }),
  datapath: z.object({
    status: componentStatus,
    error: z.string().optional(),
    entries: z.number().int(),
    lastReadAt: ms.optional(),
    signals: z
      .object({
        connections: signalStream,
        ruleset: signalStream,
        detail: z.string().optional(),
      })
      .optional()
      .meta({
        description:
          'The kernel signals the service reads on (connection tracker events, ruleset monitor); a stream that is not running leaves changes to the slow reconciliation, and detail says why.',
      }),
  }),
  eventStore: z.object({
    status: componentStatus,
    error: z.string().optional(),
    path: z.string(),
    reopenedAt: ms.optional().meta({
      description: 'When the database was last found deleted or replaced and opened again.',
    }),
  }),
  uptime: z.number().int().meta({ description: 'Seconds since the service started.' }),
});

/**
 * A parsed reply as the rest of the program types it: zod types an optional property as `T | undefined`, but a
 * parse never sets one to undefined, so under `exactOptionalPropertyTypes` it is simply optional.
 */
export type Wire<T> = T extends readonly (infer U)[]
  ? Wire<U>[]
  : T extends object
    ? { [K in keyof T]: Wire<Exclude<T[K], undefined>> }
    : T;

/** A rule as the service returns it. */
export type RuleReply = Wire<z.output<typeof ruleOutput>>;
/** The trigger table as the service returns it. */
export type TableReply = Wire<z.output<typeof tableReply>>;
/** One event as the service returns it. */
export type EventReply = Wire<z.output<typeof eventSchema>>;
/** A page of the event history. */
export type EventPageReply = Wire<z.output<typeof eventPageReply>>;
/** The answer of a port check. */
export type CheckReply = Wire<z.output<typeof checkReply>>;
/** The body of an error answer. */
export type ErrorReply = Wire<z.output<typeof errorReply>>;

// ---- learning sessions

/** Body of `POST /learn/start`. */
export const learnStartBody = z
  .object({
    host: z
      .string()
      .optional()
      .meta({ description: 'The IPv4 address of the LAN device to watch; absent for every LAN host.' }),
    durationS: z
      .number()
      .int()
      .min(LEARN_LIMITS.min)
      .max(LEARN_LIMITS.max)
      .optional()
      .meta({ description: `Seconds until the session ends by itself (default ${LEARN_LIMITS.default}).` }),
  })
  .strict();

/** Body of `POST /learn/proposals/{id}/apply` (optional). */
export const learnApplyBody = z
  .object({
    lowConfidence: z.boolean().optional().meta({
      description:
        'Confirms a proposal of low confidence: without it, such a proposal is refused (INVALID_INPUT).',
    }),
  })
  .strict();

/** Query of `GET /learn`. */
export const learnStatusQuery = z
  .object({
    after: z.coerce.number().int().min(0).optional().meta({
      description: 'Only connections numbered above this in `recent` (what a live view has not seen).',
    }),
  })
  .strict();

/** The path parameters of `/learn/proposals/{id}/apply`. */
export const proposalParams = z.object({
  id: z.coerce.number().int().min(1).meta({ description: 'The number of the proposal.' }),
});

/** One connection a session recorded. */
export const seenConnection = z.object({
  seq: z.number().int().meta({ description: 'Its number in the session.' }),
  at: ms,
  direction: z.enum(['outbound', 'inbound']),
  family,
  protocol: z.enum(['tcp', 'udp']),
  source: addressOut,
  sourcePort: z.number().int(),
  destination: addressOut,
  port: z.number().int().meta({ description: 'The remote port (outbound) or the port attempted (inbound).' }),
  existing: z
    .boolean()
    .optional()
    .meta({ description: 'An outbound connection already open when the session started (at: the start).' }),
});

/** `GET /learn`, and the answer of start and stop. */
export const learnStatusReply = z.object({
  state: z.enum(['idle', 'running', 'finished']),
  host: addressOut.optional(),
  startedAt: ms.optional(),
  endsAt: ms.optional(),
  endedAt: ms.optional(),
  endReason: z.enum(['stopped', 'time-limit', 'service-stopped', 'failed']).optional(),
  error: z.string().optional(),
  outbound: z.number().int(),
  inbound: z.number().int(),
  dropped: z.number().int().meta({ description: 'Connections beyond the bound of a session, not kept.' }),
  recent: z.array(seenConnection),
  lanSubnets: z.array(z.string()).optional().meta({
    description:
      'The subnets of the LAN interfaces when the session started: only devices inside them are recorded. Absent when they could not be read (then every LAN address is).',
  }),
  outsideLan: z.number().int().meta({
    description:
      'Outbound connections from addresses outside `lanSubnets`, ignored (not counted in `outbound`).',
  }),
  outsideLanSources: z.array(addressOut).meta({
    description: 'The first ten addresses outside `lanSubnets` whose connections were ignored.',
  }),
});

const portSpecOut = z.object({ protocol: z.enum(['tcp', 'udp']), ports: z.string() });

/** One proposed rule with its evidence. */
export const learnProposal = z.object({
  id: z.number().int(),
  rule: z.object({
    name: z.string(),
    trigger: z.array(portSpecOut),
    open: z.array(portSpecOut),
    remote: z.enum(['any', 'contacted']),
    idleTimeout: z.number().int(),
  }),
  confidence: z.enum(['high', 'medium', 'low']),
  confidenceReason: z.string().meta({ description: 'Why this level of confidence, in words.' }),
  evidence: z.string(),
  reasons: z.array(z.string()).meta({
    description: 'Why this trigger, and why the open ports are wider than the ports tried (one line each).',
  }),
  attempts: z.number().int(),
  sources: z.array(addressOut),
  conflicts: z.array(z.string()).meta({
    description:
      'Existing rules and static port forwards of other tools this proposal would clash with, in words.',
  }),
});

/** `GET /learn/proposals`. */
export const learnProposalsReply = z.object({
  proposals: z.array(learnProposal),
  notes: z.array(z.string()).meta({
    description:
      'What the proposals could not take into account, e.g. that the static port forwards of other tools could not be read.',
  }),
});

/** The state of a learning session as the service returns it. */
export type LearnStatusReply = Wire<z.output<typeof learnStatusReply>>;
/** The proposals with their notes as the service returns them. */
export type LearnProposalsReply = Wire<z.output<typeof learnProposalsReply>>;
/** A proposal as the service returns it. */
export type LearnProposalReply = Wire<z.output<typeof learnProposal>>;
