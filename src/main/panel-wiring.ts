/**
 * Wires the web panel next to the API: one token gate for both, the Host allowlist of this machine's addresses
 * and names for both, the host directory and the doctor for the panel. The panel, the host directory and the
 * doctor load on the first request outside `/api/`: a gateway whose panel nobody opens does not hold them.
 */
import { hostname, networkInterfaces } from 'node:os';
import type { Logger } from '../adapters/logger.js';
import type { ServeOptions, SiteHandler } from '../api/server.js';
import type { AllowedHosts } from '../routes/host-check.js';
import { TokenGate } from '../routes/token-gate.js';
import type { Service } from '../service/service.js';

/** Options for {@link panelFor}. */
export interface PanelWiring {
  readonly logger?: Logger;
  /** The router's namespace (the lab): neighbours and doctor look there. */
  readonly netns?: string;
  /** Extra names the panel answers to, besides this machine's own. */
  readonly names?: readonly string[];
}

/** Every address of this machine, loopback included: the Host headers the panel answers. */
export function machineAddresses(): string[] {
  const out = ['127.0.0.1', '::1'];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (!a.address.includes('%')) out.push(a.address);
  }
  return out;
}

/** The names of this machine: `localhost`, its host name, and that name under `.local` and `.lan`. */
export function machineNames(): string[] {
  const name = hostname().toLowerCase();
  return ['localhost', name, `${name}.local`, `${name}.lan`];
}

/**
 * The panel for a running service with what it shares with the API (the token gate, the Host allowlist), given
 * the API token once it is known.
 * @example serveApi(service, settings, { token, logger, ...panelFor(service, token, { logger }) })
 */
export function panelFor(
  service: Service,
  token: string,
  wiring: PanelWiring = {},
): Required<Pick<ServeOptions, 'site' | 'gate' | 'allowedHosts'>> {
  const ns = wiring.netns ? { netns: wiring.netns } : {};
  const gate = new TokenGate(token, wiring.logger ? { logger: wiring.logger } : {});
  const allowedHosts: AllowedHosts = {
    addresses: machineAddresses(),
    names: [...machineNames(), ...(wiring.names ?? [])],
  };
  let panel: Promise<SiteHandler> | undefined;
  const load = async (): Promise<SiteHandler> => {
    const [{ createPanel }, { createHostDirectory }, { doctorOnThisMachine }] = await Promise.all([
      import('../panel/app.js'),
      import('../adapters/neighbours.js'),
      import('./doctor-wiring.js'),
    ]);
    return createPanel({
      service,
      gate,
      allowedHosts,
      hosts: createHostDirectory(ns),
      doctor: () => doctorOnThisMachine({ ...ns, config: service.config }),
      ...(wiring.logger ? { logger: wiring.logger } : {}),
    });
  };
  const site: SiteHandler = {
    fetch: async (request, env) => {
      // A failed load is not kept: the next request tries again.
      panel ??= load().catch((error: unknown) => {
        panel = undefined;
        throw error;
      });
      return (await panel).fetch(request, env);
    },
  };
  return { site, gate, allowedHosts };
}
