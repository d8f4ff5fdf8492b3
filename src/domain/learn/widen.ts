/**
 * From the ports a session saw tried to the ports a rule should open: an application uses a range, a session
 * sees part of it. Widened only as far as the evidence goes, and each widening says why. Pure.
 */
import { formatPortList, mergeRanges, rangesByProtocol } from '../ports.js';
import { PRESETS, type Preset } from '../presets.js';
import type { PortRange, Protocol } from '../types.js';

/** The ports to open for one protocol, and why they are more than those tried. */
export interface WidenedPorts {
  readonly ranges: readonly PortRange[];
  /** In words, one line per widening; empty when exactly the tried ports are opened. */
  readonly reasons: readonly string[];
  /** The preset whose range was taken. */
  readonly preset?: Preset;
}

function listText(ports: readonly number[]): string {
  if (ports.length <= 1) return ports.join('');
  return `${ports.slice(0, -1).join(', ')} and ${ports[ports.length - 1]}`;
}

/** Tried ports as ranges, gaps of at most `gap` filled (the ports between tries of one range). */
export function contiguousRanges(ports: readonly number[], gap: number): PortRange[] {
  const sorted = [...new Set(ports)].sort((a, b) => a - b);
  const out: PortRange[] = [];
  for (const p of sorted) {
    const last = out[out.length - 1];
    if (last && p - last.to <= gap) out[out.length - 1] = { from: last.from, to: p };
    else out.push({ from: p, to: p });
  }
  return mergeRanges(out);
}

/** The preset that triggers on `trigger` and whose open ports of `protocol` hold every tried port. */
export function presetFor(
  trigger: { readonly protocol: Protocol; readonly port: number },
  protocol: Protocol,
  ports: readonly number[],
): { preset: Preset; ranges: PortRange[] } | undefined {
  for (const preset of PRESETS) {
    const triggers = rangesByProtocol(preset.trigger)[trigger.protocol];
    if (!triggers.some((r) => trigger.port >= r.from && trigger.port <= r.to)) continue;
    const open = rangesByProtocol(preset.open)[protocol];
    const holds = ports.every((p) => open.some((r) => p >= r.from && p <= r.to));
    if (ports.length > 0 && holds) {
      // Only the ranges that were tried: a preset's other ranges are other features of the application.
      const ranges = open.filter((r) => ports.some((p) => p >= r.from && p <= r.to));
      return { preset, ranges };
    }
  }
  return undefined;
}

/**
 * The ports of `protocol` to open for the ports tried after `trigger`: a known application's configured range
 * when the trigger and every tried port match its preset, else the tried ports with the gaps between them
 * (at most `gap`) filled.
 * @example widenPorts({ protocol: 'tcp', port: 6667 }, 'tcp', [4000, 4002], 16).ranges // [{ from: 4000, to: 4009 }]
 */
export function widenPorts(
  trigger: { readonly protocol: Protocol; readonly port: number },
  protocol: Protocol,
  ports: readonly number[],
  gap: number,
): WidenedPorts {
  const tried = [...new Set(ports)].sort((a, b) => a - b);
  const known = presetFor(trigger, protocol, tried);
  const contiguous = contiguousRanges(tried, gap);
  if (known) {
    const ranges = mergeRanges([...known.ranges, ...contiguous]);
    const text = formatPortList(ranges);
    if (text === formatPortList(contiguous)) return { ranges, reasons: [], preset: known.preset };
    return {
      ranges,
      preset: known.preset,
      reasons: [
        `${protocol} ${text}: the tried ports ${listText(tried)} lie in the range of the preset "${known.preset.name}", which also triggers on ${trigger.protocol} ${trigger.port}`,
      ],
    };
  }
  const filled = contiguous.filter(
    (r) => r.to - r.from + 1 > tried.filter((p) => p >= r.from && p <= r.to).length,
  );
  const reasons = filled.map(
    (r) =>
      `${protocol} ${formatPortList([r])}: the ports between the tried ports ${listText(tried.filter((p) => p >= r.from && p <= r.to))}`,
  );
  return { ranges: contiguous, reasons };
}
