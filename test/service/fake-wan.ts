/** A WAN watch for unit tests of the upper layers: the test says when the WAN changes. */
import type { NetworkLink, WanWatch } from '../../src/domain/wan.js';

/** The WAN the fake reports at start: wan0, up, with one address. */
export const WAN_AT_START: readonly NetworkLink[] = [{ name: 'wan0', up: true, addresses: ['203.0.113.7'] }];

/** The fixture's LAN bridge with its subnets, as a router's watch reports it next to its WAN. */
export const LAN_LINK: NetworkLink = {
  name: 'br-lan',
  up: true,
  addresses: ['192.168.1.1', '2001:db8:1::1'],
  subnets: ['192.168.1.0/24', '2001:db8:1::/64'],
};

/** A router's links: {@link WAN_AT_START} and {@link LAN_LINK}, what learning needs to know the LAN's subnets. */
export const ROUTER_LINKS: readonly NetworkLink[] = [...WAN_AT_START, LAN_LINK];

/** Reports `atStart` ({@link WAN_AT_START} unless given) when the service starts it, then what the test hands {@link report}. */
export class FakeWan implements WanWatch {
  #listener: ((links: readonly NetworkLink[]) => void) | undefined;
  readonly #atStart: readonly NetworkLink[];

  constructor(atStart: readonly NetworkLink[] = WAN_AT_START) {
    this.#atStart = atStart;
  }

  async start(listener: (links: readonly NetworkLink[]) => void): Promise<void> {
    this.#listener = listener;
    listener(this.#atStart);
  }

  async close(): Promise<void> {}

  /** The links as the watch would report them after a change. */
  report(links: readonly NetworkLink[]): void {
    if (!this.#listener) throw new Error('the WAN watch was not started');
    this.#listener(links);
  }
}
