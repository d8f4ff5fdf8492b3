import type { Config, Rule } from '../domain/types.js';
import { TABLE_NAME } from '../domain/types.js';
import { type Plan, planConfig } from './plan.js';
import { renderTable } from './render.js';

/** The scratch table the doctor's kernel check declares, with `nft -c` only. */
export const DOCTOR_TABLE = 'porttrigger_doctor';

const probeRule = (name: string, over: Partial<Rule>): Rule => ({
  name,
  enabled: true,
  family: 'both',
  trigger: [],
  open: [],
  idleTimeout: 60,
  lanHosts: 'any',
  remote: 'any',
  onExpire: 'close',
  ...over,
});

/**
 * A config whose ruleset has every kind of kernel object the renderer makes: single-port (hash) and range
 * (interval) dispatch maps of both protocols for every dispatch map, a fan-out of shared trigger ports, both
 * remote policies, `lanHosts`, `onExpire: close`, the standalone firewall and masquerade, and the learning rules.
 */
const PROBE_CONFIG: Config = {
  interfaces: { lan: ['probe-lan'], wan: ['probe-wan'] },
  mode: 'standalone',
  enabled: true,
  ipv6: true,
  rules: [
    probeRule('any-remote', {
      trigger: [
        { protocol: 'tcp', ports: '6970,7100-7110' },
        { protocol: 'udp', ports: '6971,7200-7210' },
      ],
      open: [
        { protocol: 'tcp', ports: '7000,7300-7310' },
        { protocol: 'udp', ports: '7001,7400-7410' },
      ],
      lanHosts: ['192.168.1.0/24', 'fd00::/64'],
    }),
    probeRule('contacted-remote', {
      trigger: [{ protocol: 'tcp', ports: '6970' }],
      open: [{ protocol: 'udp', ports: '7500-7510' }],
      remote: 'contacted',
    }),
  ],
};

/** The plan the doctor's probe renders: {@link PROBE_CONFIG} with a learning session running. */
export function probePlan(): Plan {
  return { ...planConfig(PROBE_CONFIG), learn: { host: '192.168.1.10' } };
}

/**
 * The script the doctor checks with `nft -c`: the ruleset the renderer makes for a config that uses every
 * feature, declared in a scratch table and deleted in the same transaction. Rendered, not copied, so that the
 * probe asks the kernel for exactly what an apply will.
 */
export function kernelFeatureScript(): string {
  const header = `table inet ${TABLE_NAME} {`;
  const table = renderTable(probePlan());
  if (!table.startsWith(header)) throw new Error(`the rendered table does not start with "${header}"`);
  const t = `inet ${DOCTOR_TABLE}`;
  return `table ${t} {${table.slice(header.length)}delete table ${t}\n`;
}

/** A parsed `nft --version`. */
export interface NftVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/**
 * Parses the output of `nft --version` (`nftables v1.0.6 (Lester Gooch #5)`).
 * @example parseNftVersion('nftables v1.0.6 (Lester Gooch #5)') // { major: 1, minor: 0, patch: 6 }
 */
export function parseNftVersion(text: string): NftVersion | undefined {
  const m = /\bv?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0) };
}
