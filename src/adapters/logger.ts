/**
 * Logs: a readable line with its syslog priority when standard error is the journal (journald stamps time and
 * unit itself), a readable line with the time on a terminal, one JSON object per line for log shippers.
 */
import { fstatSync } from 'node:fs';

import {
  isLogThreshold,
  LOG_RANK,
  type LogFields,
  type Logger,
  type LogLevel,
  type LogThreshold,
} from '../domain/logger.js';

/** The logging port's types, re-exported for the callers of {@link createLogger}. */
export type { LogFields, Logger, LogLevel } from '../domain/logger.js';
/** The thresholds and their check, declared with the logging port. */
export { isLogThreshold, type LogThreshold };

/** Where lines go: process.stderr or anything with `write`. */
export interface LogSink {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
}

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  /** Lowest level written (default info). */
  readonly level?: LogThreshold;
  /**
   * `auto` (default): `journal` when the sink is the journal's stream, text when it is a TTY, JSON lines
   * otherwise. `journal` is a text line without the time, prefixed with its syslog priority (`<6>`).
   */
  readonly format?: 'json' | 'text' | 'journal' | 'auto';
  /** Default process.stderr. */
  readonly sink?: LogSink;
  readonly clock?: () => number;
}

/** syslog priorities, which journald reads from a `<N>` line prefix. */
const PRIORITY: Record<LogLevel, number> = { debug: 7, info: 6, warn: 4, error: 3 };

/**
 * Whether standard error is the journal's stream: systemd sets JOURNAL_STREAM to its device and inode, so a
 * program whose stderr was redirected elsewhere (a child's, a shell's) is not mistaken for it.
 */
export function stderrIsJournal(env: NodeJS.ProcessEnv = process.env): boolean {
  const expected = env['JOURNAL_STREAM'];
  if (!expected) return false;
  try {
    const stat = fstatSync(2);
    return expected === `${stat.dev}:${stat.ino}`;
  } catch {
    return false;
  }
}

/** Errors do not serialize to JSON on their own: keep what helps (message, stable code). */
function plain(value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { message: value.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return value;
}

function textValue(value: unknown): string {
  const v = plain(value);
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (v && typeof v === 'object' && 'message' in v)
    return JSON.stringify((v as { message: unknown }).message);
  return JSON.stringify(v) ?? 'undefined';
}

/**
 * Creates a logger.
 * @example createLogger({ level: 'debug' }).info('entry opened', { rule: 'game', host: '192.168.1.10' })
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const sink = options.sink ?? process.stderr;
  const threshold = LOG_RANK[options.level ?? 'info'];
  const format =
    options.format === 'auto' || options.format === undefined
      ? sink.isTTY
        ? 'text'
        : sink === process.stderr && stderrIsJournal()
          ? 'journal'
          : 'json'
      : options.format;
  const clock = options.clock ?? Date.now;

  function build(base: LogFields): Logger {
    const write = (level: LogLevel, message: string, fields: LogFields = {}) => {
      if (LOG_RANK[level] < threshold) return;
      const all = { ...base, ...fields };
      const time = new Date(clock()).toISOString();
      if (format === 'json') {
        const record: Record<string, unknown> = { time, level, msg: message };
        for (const [k, v] of Object.entries(all)) if (v !== undefined) record[k] = plain(v);
        sink.write(`${JSON.stringify(record)}\n`);
        return;
      }
      const extra = Object.entries(all)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${textValue(v)}`)
        .join(' ');
      const line = `${message}${extra ? ` ${extra}` : ''}`;
      if (format === 'journal') sink.write(`<${PRIORITY[level]}>${line}\n`);
      else sink.write(`${time} ${level.toUpperCase().padEnd(5)} ${line}\n`);
    };
    return {
      debug: (m, f) => write('debug', m, f),
      info: (m, f) => write('info', m, f),
      warn: (m, f) => write('warn', m, f),
      error: (m, f) => write('error', m, f),
      child: (fields) => build({ ...base, ...fields }),
    };
  }
  return build({});
}

/** A logger that writes nothing (tests, library use). */
export const silentLogger: Logger = createLogger({ level: 'silent', sink: { write: () => undefined } });
