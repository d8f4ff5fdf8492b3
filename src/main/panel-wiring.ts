/** Wires the web panel: the service, the token check, this machine's addresses and names, hosts and doctor. */
import { hostname, networkInterfaces } from 'node:os';
import type { Logger } from '../adapters/logger.js';
import { createHostDirectory } from '../adapters/neighbours.js';
import { tokensEqual } from '../api/auth.js';
import { runDoctor } from '../doctor/doctor.js';
import { createPanel } from '../panel/app.js';
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
 * The panel for a running service, given the API token once `serveApi` knows it.
 * @example serveApi(service, settings, { token, site: panelFor(service, token, { logger }) })
 */
export function panelFor(service: Service, token: string, wiring: PanelWiring = {}) {
  const ns = wiring.netns ? { netns: wiring.netns } : {};
  return createPanel({
    service,
    verifyToken: (presented) => tokensEqual(token, presented),
    allowedHosts: { addresses: machineAddresses(), names: [...machineNames(), ...(wiring.names ?? [])] },
    hosts: createHostDirectory(ns),
    doctor: () => runDoctor({ ...ns, config: service.config }),
    ...(wiring.logger ? { logger: wiring.logger } : {}),
  });
}
