/** A WAN watch for unit tests of the upper layers: the test says when the WAN changes. */
import type { NetworkLink, WanWatch } from '../../src/domain/wan.js';

/** The WAN the fake reports at start: wan0, up, with one address. */
export const WAN_AT_START: readonly NetworkLink[] = [{ name: 'wan0', up: true, addresses: ['203.0.113.7'] }];

/** Reports {@link WAN_AT_START} when the service starts it, then whatever the test hands {@link report}. */
export class FakeWan implements WanWatch {
  #listener: ((links: readonly NetworkLink[]) => void) | undefined;

  async start(listener: (links: readonly NetworkLink[]) => void): Promise<void> {
    this.#listener = listener;
    listener(WAN_AT_START);
  }

  async close(): Promise<void> {}

  /** The links as the watch would report them after a change. */
  report(links: readonly NetworkLink[]): void {
    if (!this.#listener) throw new Error('the WAN watch was not started');
    this.#listener(links);
  }
}
