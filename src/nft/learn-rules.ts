/**
 * The recording rules of a learning session: at the end of `dstnat`, mark a LAN device's new connections that
 * leave through the WAN, and new connections from the WAN to the gateway that no rule translated. The
 * connection tracker then reports them by mark. They exist only while a session runs, rate-limited.
 */
import { formatAddress, parseAddress } from '../domain/address.js';
import type { LearnCapture } from '../domain/learn/recorder.js';
import { CT_MARK, markHex } from './marks.js';

/** At most this many new connections a second are marked per direction; the rest pass unrecorded. */
export const LEARN_RATE = { perSecond: 50, burst: 100 } as const;

function quoteIfaces(names: readonly string[]): string {
  // Names were validated against [A-Za-z0-9_.-]{1,15}\*? by the core, so quoting cannot be escaped.
  return `{ ${names.map((n) => `"${n}"`).join(', ')} }`;
}

/**
 * The rules that go last in `dstnat` while `capture` is set. A packet that reaches the end of the chain was
 * not translated by a rule of ours (a DNAT goes to its chain and never comes back).
 * @example learnRules({ host: '192.168.1.10' }, { lan: ['br-lan'], wan: ['wan'] })
 */
export function learnRules(
  capture: LearnCapture,
  interfaces: { readonly lan: readonly string[]; readonly wan: readonly string[] },
): string[] {
  const limit = `limit rate ${LEARN_RATE.perSecond}/second burst ${LEARN_RATE.burst} packets`;
  const parsed = capture.host === undefined ? undefined : parseAddress(capture.host);
  if (capture.host !== undefined && parsed?.family !== 'ipv4') {
    throw new Error(`learning records IPv4 devices only, not "${capture.host}"`);
  }
  // Formatted from the parsed value: only a canonical address reaches the script.
  const host = parsed ? ` ip saddr ${formatAddress(parsed)}` : '';
  const lan = quoteIfaces(interfaces.lan);
  const wan = quoteIfaces(interfaces.wan);
  return [
    `iifname ${lan} fib daddr oifname ${wan} meta nfproto ipv4${host} meta l4proto { tcp, udp } ${limit} ct mark set ct mark | ${markHex(CT_MARK.learn)} comment "learning: outbound"`,
    `iifname ${wan} meta nfproto ipv4 fib daddr type local meta l4proto { tcp, udp } ${limit} ct mark set ct mark | ${markHex(CT_MARK.learn | CT_MARK.learnInbound)} comment "learning: inbound attempts"`,
  ];
}
