/**
 * The setup every kernel suite of the service shares: a temp directory with a gateway config (LAN `br-lan`, WAN
 * `wan0`, standalone), a virtual network whose router the service will drive, listeners on the hosts, and one
 * cleanup that removes it all in reverse order.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runProgram } from '../../src/adapters/exec.js';
import { createLogger, silentLogger } from '../../src/adapters/logger.js';
import type { Logger } from '../../src/domain/logger.js';
import type { HostName, VirtualNetwork } from '../../src/lab/virtual-network.js';
import { createVirtualNetwork } from '../../src/lab/virtual-network.js';
import { type ServiceHost, startServiceHost } from '../../src/main/service-host.js';
import type { RuleInput } from '../factories.js';

/** Options for {@link createGateway}. */
export interface GatewayOptions {
  /** Namespace prefix of the suite (unique per file: suites run in parallel). */
  readonly prefix: string;
  /** The rules of the config, as the config file spells them. */
  readonly rules: readonly RuleInput[];
  /** Serve the API on a free loopback port with a token file in the directory (default true). */
  readonly api?: boolean;
  /** Events kept (default 1000). */
  readonly maxEvents?: number;
  /** Sockets to open before the service starts, e.g. `['lan1', 'udp', 7000]`. */
  readonly listen?: readonly (readonly [HostName, 'tcp' | 'udp', number])[];
}

/** A gateway config in a temp directory and the virtual network it runs in. */
export interface Gateway {
  readonly net: VirtualNetwork;
  readonly dir: string;
  readonly configPath: string;
  /** The API token, once a service has created the token file. */
  token(): string;
  /** Starts the service with its API in the router (`PT_DEBUG=1` shows its log); stopped at cleanup. */
  startHost(logger?: Logger): Promise<ServiceHost>;
  /** Runs `fn` at cleanup, before the network and the directory go (last registered, first run). */
  onCleanup(fn: () => unknown): void;
  /** Removes everything: what was registered, the network, the directory. */
  cleanup(): Promise<void>;
}

/** The config text of a gateway in `dir`. */
export function gatewayConfigText(dir: string, options: Omit<GatewayOptions, 'prefix' | 'listen'>): string {
  return stringify({
    interfaces: { lan: ['br-lan'], wan: ['wan0'] },
    mode: 'standalone',
    rules: options.rules,
    ...(options.api === false ? {} : { api: { listen: '127.0.0.1:0', tokenFile: join(dir, 'token') } }),
    events: { database: join(dir, 'events.db'), retentionDays: 1, maxEvents: options.maxEvents ?? 1000 },
  });
}

/**
 * Writes the config and builds the network; on a failure half way it removes what it made.
 * @example const gw = await createGateway({ prefix: 'ptx', rules: [udpRule('game', 5000, 7000)] });
 */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const dir = mkdtempSync(join(tmpdir(), `pt-${options.prefix}-`));
  const configPath = join(dir, 'config.yaml');
  writeFileSync(configPath, gatewayConfigText(dir, options));
  const cleanups: (() => unknown)[] = [];
  let net: VirtualNetwork | undefined;
  const cleanup = async () => {
    for (const fn of cleanups.splice(0).reverse()) await Promise.resolve(fn()).catch(() => undefined);
    await net?.destroy();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    net = await createVirtualNetwork({ prefix: options.prefix, run: runProgram });
    const network = net;
    await Promise.all(
      (options.listen ?? []).map(([host, proto, port]) => network.host(host).listen(proto, port)),
    );
  } catch (error) {
    await cleanup();
    throw error;
  }
  const network = net;
  return {
    net: network,
    dir,
    configPath,
    token: () => readFileSync(join(dir, 'token'), 'utf8').trim(),
    async startHost(logger) {
      const host = await startServiceHost({
        configPath,
        netns: network.namespaces.router,
        logger:
          logger ??
          (process.env['PT_DEBUG'] ? createLogger({ level: 'debug', sink: process.stderr }) : silentLogger),
      });
      cleanups.push(() => host.stop());
      return host;
    },
    onCleanup: (fn) => void cleanups.push(fn),
    cleanup,
  };
}
