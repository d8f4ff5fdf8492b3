import { describe, expect, it } from 'vitest';
import { parseConntrackLine } from '../nft/conntrack-state.js';
import { existingOutbound } from './learn-recorder.js';

const AT = 1_900_000_000_000;
const line = (text: string) => {
  const c = parseConntrackLine(text);
  if (!c) throw new Error(`unparsed: ${text}`);
  return c;
};
// `conntrack -L -o extended` lines as the tracker prints them.
const IRC = line(
  'ipv4     2 tcp      6 431999 ESTABLISHED src=192.168.1.10 dst=203.0.113.20 sport=40100 dport=6667 src=203.0.113.20 dst=203.0.113.1 sport=6667 dport=40100 [ASSURED] mark=0 use=1',
);
const LOCAL = line(
  'ipv4     2 udp      17 20 src=192.168.1.10 dst=192.168.1.1 sport=5353 dport=53 src=192.168.1.1 dst=192.168.1.10 sport=53 dport=5353 mark=0 use=1',
);
const CLOSED = line(
  'ipv4     2 tcp      6 100 TIME_WAIT src=192.168.1.10 dst=203.0.113.20 sport=40200 dport=80 src=203.0.113.20 dst=203.0.113.1 sport=80 dport=40200 [ASSURED] mark=0 use=1',
);
const FORWARDED_IN = line(
  'ipv4     2 tcp      6 100 ESTABLISHED src=198.51.100.7 dst=203.0.113.1 sport=5000 dport=4000 src=192.168.1.10 dst=198.51.100.7 sport=4000 dport=5000 [ASSURED] mark=0 use=1',
);

describe('existingOutbound', () => {
  it('takes a translated connection of the device as open before the session', () => {
    expect(existingOutbound(IRC, { host: '192.168.1.10' }, AT)).toEqual({
      at: AT,
      direction: 'outbound',
      family: 'ipv4',
      protocol: 'tcp',
      source: '192.168.1.10',
      sourcePort: 40100,
      destination: '203.0.113.20',
      port: 6667,
      existing: true,
    });
    expect(existingOutbound(IRC, {}, AT)?.port).toBe(6667);
  });

  it('leaves out other devices, closed connections, connections to the gateway itself, and forwarded inbound ones', () => {
    expect(existingOutbound(CLOSED, {}, AT)).toBeUndefined();
    expect(existingOutbound(IRC, { host: '192.168.1.20' }, AT)).toBeUndefined();
    expect(existingOutbound(LOCAL, {}, AT)).toBeUndefined();
    expect(existingOutbound(FORWARDED_IN, {}, AT)).toBeUndefined();
  });
});
