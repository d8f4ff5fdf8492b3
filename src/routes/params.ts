/** Turning zod's verdicts into ours: INVALID_INPUT with every issue, and values without undefined keys. */
import type { z } from 'zod';
import { fromZodIssues } from '../domain/config.js';
import { InvalidInputError, type Issue } from '../domain/errors.js';

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
