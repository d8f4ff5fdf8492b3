import type {
  LearnCapture,
  LearnRecorder,
  Recording,
  SeenConnection,
  SeenDirection,
} from '../domain/learn/recorder.js';
import { type ConntrackEvent, parseConntrackLine, type TrackedConnection } from '../nft/conntrack-state.js';
import { CT_MARK } from '../nft/marks.js';
import { watchConntrack } from './conntrack-events.js';
import { runProgram } from './exec.js';
import type { KernelDatapath } from './kernel-datapath.js';

/** Options for {@link createLearnRecorder}. */
export interface LearnRecorderOptions {
  readonly datapath: Pick<KernelDatapath, 'setCapture'>;
  readonly netns?: string;
  readonly conntrackBinary?: string;
  /** How long to wait for the event stream to run before installing the rules (default 5 s). */
  readonly startTimeoutMs?: number;
  /** The clock that stamps connections open before the session (default `Date.now`). */
  readonly now?: () => number;
}

/** A tracked connection as a recorded one: its original direction, as the first packet went. */
function seenAs(c: TrackedConnection, direction: SeenDirection, at: number): SeenConnection {
  return {
    at,
    direction,
    family: c.family,
    protocol: c.protocol,
    source: c.original.src,
    sourcePort: c.original.sport,
    destination: c.original.dst,
    port: c.original.dport,
  };
}

/** A marked connection of the tracker as a recorded connection. */
export function seenConnection(event: ConntrackEvent): SeenConnection {
  const c = event.connection;
  return seenAs(c, (c.mark & CT_MARK.learnInbound) !== 0 ? 'inbound' : 'outbound', event.at);
}

/**
 * A connection the tracker listed at the start of a session as an outbound connection of the device, or
 * undefined: it must come from the device (any LAN host without one) and have its source translated, which is
 * what leaving a gateway through the WAN does (masquerade or SNAT); a DNAT'ed inbound connection is not one.
 */
export function existingOutbound(
  c: TrackedConnection,
  capture: LearnCapture,
  at: number,
): SeenConnection | undefined {
  if (c.family !== 'ipv4') return undefined;
  if (capture.host !== undefined && c.original.src !== capture.host) return undefined;
  // A closing or closed tcp connection (TIME_WAIT, FIN_WAIT...) is no longer the application's.
  if (c.protocol === 'tcp' && !['ESTABLISHED', 'SYN_SENT', 'SYN_RECV'].includes(c.state ?? ''))
    return undefined;
  const translatedSource = c.reply.dst !== c.original.src;
  const translatedDestination = c.reply.src !== c.original.dst;
  if (!translatedSource || translatedDestination) return undefined;
  return { ...seenAs(c, 'outbound', at), existing: true };
}

async function listExisting(
  options: LearnRecorderOptions,
  capture: LearnCapture,
  at: number,
): Promise<SeenConnection[]> {
  const args = ['-L', '-f', 'ipv4', '-o', 'extended', ...(capture.host ? ['-s', capture.host] : [])];
  const { stdout } = await runProgram(options.conntrackBinary ?? 'conntrack', args, {
    timeoutMs: 5_000,
    ...(options.netns ? { netns: options.netns } : {}),
  });
  const out: SeenConnection[] = [];
  for (const line of stdout.split('\n')) {
    const c = parseConntrackLine(line);
    const seen = c ? existingOutbound(c, capture, at) : undefined;
    if (seen) out.push(seen);
  }
  return out;
}

/**
 * Records for learning sessions on the kernel: the datapath renders the marking rules into our table, and
 * `conntrack -E` (filtered by the learning bit in the kernel) reports each marked connection as it is confirmed,
 * with its time to the microsecond. The device's connections already open are listed once at the start.
 * Nothing runs outside a recording.
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
      // An application started before the session (an IRC client connected for hours) shows as these.
      try {
        for (const c of await listExisting(options, capture, (options.now ?? Date.now)())) onSeen(c);
      } catch (error) {
        onError(new Error(`the connections open before learning could not be read: ${String(error)}`));
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
