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

/** The levels a logger can be set to; `silent` logs nothing. */
export type LogThreshold = LogLevel | 'silent';

/** The rank of each threshold: a line is written when its level ranks at or above the logger's threshold. */
export const LOG_RANK: Readonly<Record<LogThreshold, number>> = {
  debug: 10,
  info: 20,
  warn: 30,
  error: 40,
  silent: 100,
};

/** True when `text` names a log threshold. */
export function isLogThreshold(text: string): text is LogThreshold {
  return Object.hasOwn(LOG_RANK, text);
}
