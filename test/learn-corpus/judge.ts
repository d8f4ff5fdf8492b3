/** How a proposal of the corpus is judged: the right rule, and the noise it carries. */
import type { LearnProposal } from '../../src/domain/learn/proposals.js';
import { parsePortList } from '../../src/domain/ports.js';
import type { Protocol } from '../../src/domain/types.js';
import type { CorpusSession } from './session.js';

/** Every port of a port list. */
export function ports(text: string): number[] {
  const parsed = parsePortList(text);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed.ranges.flatMap((r) => Array.from({ length: r.to - r.from + 1 }, (_, i) => r.from + i));
}

/** Whether the proposal opens the port. */
export function opens(p: LearnProposal, protocol: Protocol, port: number): boolean {
  return p.rule.open.some((s) => s.protocol === protocol && ports(s.ports).includes(port));
}

/** Whether the proposal is the session's right rule: its trigger and remote, every port it must open, nothing more. */
export function isRight(p: LearnProposal | undefined, s: CorpusSession): boolean {
  if (!p) return false;
  const trigger = p.rule.trigger.map((t) => `${t.protocol} ${t.ports}`).join();
  if (trigger !== s.expected.trigger || p.rule.remote !== s.expected.remote) return false;
  const must = s.expected.open.every((spec) => {
    const [protocol = '', list = ''] = spec.split(' ');
    const protocols: Protocol[] = protocol === 'any' ? ['tcp', 'udp'] : [protocol as Protocol];
    return ports(list).every((port) => protocols.some((pr) => opens(p, pr, port)));
  });
  const allowed = p.rule.open.every((o) =>
    ports(o.ports).every((port) =>
      s.expected.allowed.some((spec) => {
        const [protocol = '', list = ''] = spec.split(' ');
        return protocol === o.protocol && ports(list).includes(port);
      }),
    ),
  );
  return must && allowed;
}

/**
 * The noise a proposal carries: ports outside the application's range that only noise sources tried, a noise
 * source among its evidence, or a background service as its trigger.
 */
export function noiseIn(p: LearnProposal, s: CorpusSession): string[] {
  const found: string[] = [];
  const noisy = new Set(s.noise.sources);
  const byApp = new Set(s.inbound.filter((a) => !noisy.has(a.source)).map((a) => `${a.protocol} ${a.port}`));
  for (const a of s.inbound) {
    const key = `${a.protocol} ${a.port}`;
    const inRange = s.expected.allowed.some((spec) => {
      const [protocol = '', list = ''] = spec.split(' ');
      return protocol === a.protocol && ports(list).includes(a.port);
    });
    if (
      noisy.has(a.source) &&
      !byApp.has(key) &&
      !inRange &&
      opens(p, a.protocol, a.port) &&
      !found.includes(key)
    )
      found.push(key);
  }
  for (const t of p.rule.trigger) {
    if (s.noise.backgroundPorts.includes(`${t.protocol} ${t.ports}`))
      found.push(`trigger ${t.protocol} ${t.ports}`);
  }
  for (const src of p.sources) if (noisy.has(src)) found.push(`source ${src}`);
  return found;
}
