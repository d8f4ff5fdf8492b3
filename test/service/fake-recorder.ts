/** A learning recorder for unit tests of the upper layers: the test feeds it connections by hand. */
import type { LearnCapture, LearnRecorder, SeenConnection } from '../../src/domain/learn/recorder.js';

/** Remembers what it was asked to record and hands over the connections the test makes up. */
export class FakeRecorder implements LearnRecorder {
  readonly captures: LearnCapture[] = [];
  running = 0;
  stops = 0;
  #onSeen: ((c: SeenConnection) => void) | undefined;
  /** Runs right after each start, to feed connections as the session begins. */
  onStart: (() => void) | undefined;

  async start(capture: LearnCapture, onSeen: (c: SeenConnection) => void) {
    this.captures.push(capture);
    this.running++;
    this.#onSeen = onSeen;
    queueMicrotask(() => this.onStart?.());
    return {
      stop: async () => {
        this.running--;
        this.stops++;
      },
    };
  }

  /** One connection as if the kernel had recorded it. */
  see(c: Omit<SeenConnection, 'family' | 'sourcePort'>): void {
    this.#onSeen?.({ family: 'ipv4', sourcePort: 40_000, ...c });
  }

  /**
   * The guess pattern: `device` looks a name up at `resolver` (udp 53), then two hosts nobody contacted try tcp
   * 5000 a second later. Only the lookup came before them, so the best proposal is a low-confidence one.
   */
  seeGuess(at: number, device: string, resolver: string): void {
    this.see({ at, direction: 'outbound', protocol: 'udp', source: device, destination: resolver, port: 53 });
    for (const [i, from] of ['198.51.100.7', '198.51.100.8'].entries())
      this.see({
        at: at + 1000 + i,
        direction: 'inbound',
        protocol: 'tcp',
        source: from,
        destination: '203.0.113.1',
        port: 5000,
      });
  }

  /** The game pattern: `device` connects to `server` tcp 6970, which calls back on udp `base`.. three times. */
  seeApplication(at: number, device: string, server: string, base = 8000): void {
    this.see({ at, direction: 'outbound', protocol: 'tcp', source: device, destination: server, port: 6970 });
    for (let i = 0; i < 3; i++)
      this.see({
        at: at + 2000 + i * 1000,
        direction: 'inbound',
        protocol: 'udp',
        source: server,
        destination: '203.0.113.1',
        port: base + i,
      });
  }
}
