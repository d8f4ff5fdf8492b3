/**
 * The kernel implementation of the WAN watch: `ip monitor link address` says that a link or an address changed,
 * and `ip -j addr show` then reads every link with its addresses. A burst of monitor lines (a DHCP client that
 * removes one address and adds another, pppd bringing up `ppp0`) is one read. At rest nothing runs but the
 * monitor and a rare safety-net read.
 */
import { subnetOf } from '../domain/lan-device.js';
import type { NetworkLink, WanWatch } from '../domain/wan.js';
import { runProgram } from './exec.js';
import { type LineWatch, watchLines } from './line-watch.js';

/** Monitor lines within this much of each other are one change: one read after the last. */
const QUIET_MS = 200;
const READ_TIMEOUT_MS = 5_000;
/**
 * `ip monitor` prints nothing when it has subscribed, and on a busy machine that can be a while after its
 * process started: a change in between would be missed, so the links are read again this long after each start.
 */
const CATCH_UP_MS = [200, 1_000, 3_000] as const;
/**
 * Without a running monitor (it failed, or waits to be restarted) the reads are the only observer: a change is
 * seen this late at most.
 */
export const UNWATCHED_SAFETY_READ_MS = 30_000;
/**
 * While the monitor runs it prints every change, and says on stderr when its socket overflowed and lines were
 * lost (which reads at once): the safety net then only covers what nobody can see, and may be rare. Measured at
 * rest, a read every 30 s was the service's whole CPU (about 40 ms a read with `ip netns exec`, 0.13 % of a core).
 * As for the datapath's safety net, the interval keeps its share at a tenth of a per cent of a core (the read's
 * duration over the budget), between these bounds.
 */
export const WATCHED_SAFETY_READ_MS = 300_000;
const MAX_SAFETY_READ_MS = 3_600_000;
const SAFETY_BUDGET = 0.001;

/** How long after the last read the safety net reads the links again. */
export function safetyReadDelayMs(monitorRunning: boolean, lastReadMs: number): number {
  if (!monitorRunning) return UNWATCHED_SAFETY_READ_MS;
  return Math.min(
    MAX_SAFETY_READ_MS,
    Math.max(WATCHED_SAFETY_READ_MS, Math.round(lastReadMs / SAFETY_BUDGET)),
  );
}

interface IpAddrLink {
  readonly ifname?: string;
  readonly flags?: readonly string[];
  readonly addr_info?: readonly {
    readonly family?: string;
    readonly local?: string;
    readonly prefixlen?: number;
    readonly scope?: string;
    readonly temporary?: boolean;
    readonly deprecated?: boolean;
  }[];
}

/**
 * The links of `ip -j addr show` with their global addresses (temporary and deprecated IPv6 addresses left out:
 * privacy addresses rotate daily without the WAN changing) and the subnets of those addresses.
 */
export function linksOf(ipAddr: unknown): NetworkLink[] {
  if (!Array.isArray(ipAddr)) return [];
  return (ipAddr as IpAddrLink[]).flatMap((link) => {
    if (typeof link.ifname !== 'string') return [];
    const flags = link.flags ?? [];
    const global = (link.addr_info ?? []).filter(
      (a) =>
        (a.family === 'inet' || a.family === 'inet6') && typeof a.local === 'string' && a.scope === 'global',
    );
    const addresses = global
      .filter((a) => a.temporary !== true && a.deprecated !== true)
      .map((a) => a.local as string)
      .sort();
    // A temporary address is in its link's subnet as well: every global address says where the devices are.
    const subnets = [
      ...new Set(global.flatMap((a) => subnetOf(a.local as string, a.prefixlen ?? Number.NaN) ?? [])),
    ].sort();
    return [
      { name: link.ifname, up: flags.includes('UP') && flags.includes('LOWER_UP'), addresses, subnets },
    ];
  });
}

/** Options for {@link createWanWatch}. */
export interface WanWatchOptions {
  /** Watch the links of this network namespace (the lab and the tests). */
  readonly netns?: string;
  /** Told when a read of the links fails (the next change reads again). */
  readonly onError?: (error: unknown) => void;
}

/**
 * Watches the links and addresses of the system (or of a namespace).
 * @example const wan = createWanWatch({ onError: (error) => logger.warn('reading the links failed', { error }) })
 */
export function createWanWatch(options: WanWatchOptions = {}): WanWatch {
  const where = options.netns ? { netns: options.netns } : {};
  let watch: LineWatch | undefined;
  let timer: NodeJS.Timeout | undefined;
  let safety: NodeJS.Timeout | undefined;
  const timers = new Set<NodeJS.Timeout>();
  let reading: Promise<void> | undefined;
  let again = false;
  let closed = false;

  return {
    async start(listener) {
      const read = async (): Promise<void> => {
        const started = Date.now();
        try {
          const { stdout } = await runProgram('ip', ['-j', 'addr', 'show'], {
            ...where,
            timeoutMs: READ_TIMEOUT_MS,
          });
          if (!closed) listener(linksOf(JSON.parse(stdout)));
        } catch (error) {
          if (!closed) options.onError?.(error);
        }
        armSafety(Date.now() - started);
      };
      // Every read puts the safety net off: it reads only after a quiet interval.
      const armSafety = (lastReadMs: number) => {
        clearTimeout(safety);
        if (closed) return;
        safety = setTimeout(readNow, safetyReadDelayMs(watch?.running ?? false, lastReadMs));
        safety.unref();
      };
      // One read at a time; a change during a read is read once more after it.
      const readNow = () => {
        if (closed) return;
        if (reading) {
          again = true;
          return;
        }
        reading = (async () => {
          do {
            again = false;
            await read();
          } while (again && !closed);
          reading = undefined;
        })();
      };
      const after = (ms: number) => {
        const t = setTimeout(() => {
          timers.delete(t);
          readNow();
        }, ms);
        t.unref();
        timers.add(t);
      };
      const readSoon = () => {
        if (closed) return;
        clearTimeout(timer);
        timer = setTimeout(() => {
          timer = undefined;
          readNow();
        }, QUIET_MS);
        timer.unref();
      };
      watch = watchLines({
        program: 'ip',
        args: ['monitor', 'link', 'address'],
        ...where,
        onLine: readSoon,
        // `netlink receive error No buffer space available`: the monitor lost lines and runs on.
        onStderr: readSoon,
        // Changes before the monitor subscribed, or between two runs of it, are caught by reads after each start.
        onStart: () => {
          for (const ms of CATCH_UP_MS) after(ms);
        },
        onError: (error) => {
          options.onError?.(error);
          readSoon();
        },
      });
      // The first reading goes through the one-at-a-time path too, so no catch-up read overtakes it.
      readNow();
      await reading;
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      clearTimeout(safety);
      for (const t of timers) clearTimeout(t);
      await watch?.close();
      await reading;
    },
  };
}
