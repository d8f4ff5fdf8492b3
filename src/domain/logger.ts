/** Severity levels, least severe first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Context attached to a log line: rule, host, error… */
export type LogFields = Readonly<Record<string, unknown>>;

/** The logging port: every part of the service takes one; src/adapters/logger.ts writes the lines. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}
