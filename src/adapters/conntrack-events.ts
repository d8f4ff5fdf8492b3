import type { Family, Protocol } from '../domain/types.js';
import { type ConntrackEvent, type ConntrackEventType, parseConntrackEvent } from '../nft/conntrack-state.js';
import { markHex } from '../nft/marks.js';
import { type LineWatch, watchLines } from './line-watch.js';

/** Which connections to hear about; the tracker applies these filters in the kernel, before anything is sent. */
export interface ConntrackEventFilter {
  readonly types: readonly ConntrackEventType[];
  /** Only connections whose mark, masked, equals the value. */
  readonly mark?: { readonly value: number; readonly mask: number };
  readonly family?: Family;
  readonly protocol?: Protocol;
  /** Only connections with this original source address. */
  readonly source?: string;
  /** Only connections with this original destination address. */
  readonly destination?: string;
}

/** Options for {@link watchConntrack}. */
export interface ConntrackWatchOptions {
  readonly filter: ConntrackEventFilter;
  readonly onEvent: (event: ConntrackEvent) => void;
  /** The stream broke (it restarts by itself): events may have been missed, so read the full state again. */
  readonly onError?: (error: Error) => void;
  /** The stream runs (again). */
  readonly onStart?: () => void;
  readonly netns?: string;
  readonly binary?: string;
}

/** Room for a burst of events, so that a busy second does not overflow the socket (ENOBUFS ends the stream). */
const RECEIVE_BUFFER_BYTES = 8 * 1024 * 1024;

/** The arguments of `conntrack -E` for a filter. */
export function conntrackEventArgs(filter: ConntrackEventFilter): string[] {
  const args = ['-E', '-e', filter.types.map((t) => t.toUpperCase()).join(',')];
  args.push('-o', 'timestamp,id,extended', '-b', String(RECEIVE_BUFFER_BYTES));
  if (filter.mark) args.push('-m', `${markHex(filter.mark.value)}/${markHex(filter.mark.mask)}`);
  if (filter.family) args.push('-f', filter.family);
  if (filter.protocol) args.push('-p', filter.protocol);
  if (filter.source) args.push('-s', filter.source);
  if (filter.destination) args.push('-d', filter.destination);
  return args;
}

/**
 * Listens to the connection tracker's events (`conntrack -E`): the kernel sends them as connections are
 * confirmed and destroyed, so nothing runs while nothing happens.
 * @example const w = watchConntrack({ filter: { types: ['new'] }, onEvent: (e) => console.log(e) })
 */
export function watchConntrack(options: ConntrackWatchOptions): LineWatch {
  return watchLines({
    program: options.binary ?? 'conntrack',
    args: conntrackEventArgs(options.filter),
    ...(options.netns ? { netns: options.netns } : {}),
    onLine: (line) => {
      const event = parseConntrackEvent(line);
      if (event) options.onEvent(event);
    },
    ...(options.onError ? { onError: options.onError } : {}),
    ...(options.onStart ? { onStart: options.onStart } : {}),
  });
}
