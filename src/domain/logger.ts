/**
 * The logging port: what every part of the program may log through. The adapter in src/adapters/logger.ts
 * writes the lines; the composition root hands it to whoever needs one.
 */

/** Context attached to a log line: rule, host, error… */
export type LogFields = Readonly<Record<string, unknown>>;

/** Writes log lines; every part of the service takes one. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}
