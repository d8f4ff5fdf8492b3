import { fstatSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PorttriggerError } from '../domain/errors.js';
import { createLogger, stderrIsJournal } from './logger.js';

function capture(isTTY: boolean) {
  const lines: string[] = [];
  return { lines, sink: { write: (s: string) => lines.push(s), isTTY } };
}

describe('logger', () => {
  it('writes JSON lines when not on a terminal, errors as message and code', () => {
    const { lines, sink } = capture(false);
    const log = createLogger({ sink, clock: () => 0 }).child({ component: 'service' });
    log.info('entry opened', { rule: 'game', host: '192.168.1.10' });
    log.error('failed', { error: new PorttriggerError('NFT_REJECTED', 'nope') });
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      {
        time: '1970-01-01T00:00:00.000Z',
        level: 'info',
        msg: 'entry opened',
        component: 'service',
        rule: 'game',
        host: '192.168.1.10',
      },
      {
        time: '1970-01-01T00:00:00.000Z',
        level: 'error',
        msg: 'failed',
        component: 'service',
        error: { message: 'nope', code: 'NFT_REJECTED' },
      },
    ]);
  });

  it('writes readable lines on a terminal', () => {
    const { lines, sink } = capture(true);
    createLogger({ sink, clock: () => 0 }).warn('entry conflict', {
      rule: 'voice call',
      host: '192.168.1.20',
    });
    expect(lines).toEqual([
      '1970-01-01T00:00:00.000Z WARN  entry conflict rule="voice call" host=192.168.1.20\n',
    ]);
  });

  it('writes journal lines with their syslog priority and no time of its own', () => {
    const { lines, sink } = capture(false);
    const log = createLogger({ sink, format: 'journal', clock: () => 0 });
    log.info('entry opened', { rule: 'game', host: '192.168.1.10' });
    log.error('config refused', { error: new PorttriggerError('INVALID_CONFIG', 'rules.0.name: empty') });
    expect(lines).toEqual([
      '<6>entry opened rule=game host=192.168.1.10\n',
      '<3>config refused error="rules.0.name: empty"\n',
    ]);
  });

  it('knows the journal by the device and inode systemd names, not by the variable alone', () => {
    const stat = fstatSync(2);
    expect(stderrIsJournal({ JOURNAL_STREAM: `${stat.dev}:${stat.ino}` })).toBe(true);
    expect(stderrIsJournal({ JOURNAL_STREAM: `${stat.dev}:${stat.ino + 1}` })).toBe(false);
    expect(stderrIsJournal({})).toBe(false);
  });

  it('drops lines below the level', () => {
    const { lines, sink } = capture(false);
    const log = createLogger({ sink, level: 'warn' });
    log.debug('a');
    log.info('b');
    log.warn('c');
    expect(lines).toHaveLength(1);
  });
});
