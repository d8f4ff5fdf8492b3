import type { LearnCapture, LearnRecorder, Recording, SeenConnection } from '../domain/learn/recorder.js';
import type { ConntrackEvent } from '../nft/conntrack-state.js';
import { CT_MARK } from '../nft/marks.js';
import { watchConntrack } from './conntrack-events.js';
import type { KernelDatapath } from './kernel-datapath.js';

/** Options for {@link createLearnRecorder}. */
export interface LearnRecorderOptions {
  readonly datapath: Pick<KernelDatapath, 'setCapture'>;
  readonly netns?: string;
  readonly conntrackBinary?: string;
  /** How long to wait for the event stream to run before installing the rules (default 5 s). */
  readonly startTimeoutMs?: number;
}

/** A marked connection of the tracker as a recorded connection. */
export function seenConnection(event: ConntrackEvent): SeenConnection {
  const c = event.connection;
  return {
    at: event.at,
    direction: (c.mark & CT_MARK.learnInbound) !== 0 ? 'inbound' : 'outbound',
    family: c.family,
    protocol: c.protocol,
    source: c.original.src,
    sourcePort: c.original.sport,
    destination: c.original.dst,
    port: c.original.dport,
  };
}

/**
 * Records for learning sessions on the kernel: the datapath renders the marking rules into our table, and
 * `conntrack -E` (filtered by the learning bit in the kernel) reports each marked connection as it is confirmed,
 * with its time to the microsecond. Nothing runs outside a recording.
 * @example const recorder = createLearnRecorder({ datapath, netns: 'router' })
 */
export function createLearnRecorder(options: LearnRecorderOptions): LearnRecorder {
  return {
    async start(capture: LearnCapture, onSeen, onError): Promise<Recording> {
      let started!: () => void;
      const running = new Promise<void>((resolve) => {
        started = resolve;
      });
      const watch = watchConntrack({
        ...(options.netns ? { netns: options.netns } : {}),
        ...(options.conntrackBinary ? { binary: options.conntrackBinary } : {}),
        filter: { types: ['new'], mark: { value: CT_MARK.learn, mask: CT_MARK.learn } },
        onEvent: (event) => onSeen(seenConnection(event)),
        onError,
        onStart: () => started(),
      });
      try {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error('conntrack -E did not start: is conntrack installed?')),
            options.startTimeoutMs ?? 5_000,
          );
        });
        await Promise.race([running, timeout]).finally(() => clearTimeout(timer));
        await options.datapath.setCapture(capture);
      } catch (error) {
        await watch.close();
        throw error;
      }
      let stopping: Promise<void> | undefined;
      return {
        stop() {
          stopping ??= (async () => {
            try {
              await options.datapath.setCapture(undefined);
            } finally {
              await watch.close();
            }
          })();
          return stopping;
        },
      };
    },
  };
}
