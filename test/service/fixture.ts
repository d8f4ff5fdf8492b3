/**
 * A service on the reference model, for the API and service unit tests: a temp directory with a config file and
 * an event database, and a model that records applies and can fail or lose its table on demand.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConfigFileStore } from '../../src/adapters/config-file.js';
import { silentLogger } from '../../src/adapters/logger.js';
import { NftError } from '../../src/adapters/nft.js';
import type { ApplyReport, DatapathReading } from '../../src/domain/datapath.js';
import type { Config, Protocol, TriggerTable } from '../../src/domain/types.js';
import { openSqliteHistory } from '../../src/main/start-service.js';
import { ReferenceModel } from '../../src/model/model.js';
import { type Service, type ServiceOptions, startService } from '../../src/service/service.js';

/** Where the model's clock starts: a real-looking time, so retention by age behaves. */
export const T0 = 1_900_000_000_000;
/** The first LAN host. */
export const LAN1 = '192.168.1.10';
/** The second LAN host. */
export const LAN2 = '192.168.1.20';
/** The WAN host that triggers go to. */
export const REMOTE = '198.51.100.7';

/** The config of the fixture: two rules, comments that must survive writes. */
export function configText(dir: string): string {
  return `# porttrigger test gateway
interfaces:
  lan: [br-lan]
  wan: [wan0]
mode: standalone
rules:
  # the game rule
  - name: game
    trigger: [{ protocol: udp, ports: "5000" }]
    open: [{ protocol: udp, ports: "7000-7010" }]
    idleTimeout: 30
  - name: voice call
    trigger: [{ protocol: tcp, ports: "5060" }]
    open: [{ protocol: udp, ports: "16384-16482" }]
    idleTimeout: 120
    remote: contacted
    lanHosts: [192.168.1.0/24]
events:
  database: ${join(dir, 'events.db')}
  retentionDays: 30
  maxEvents: 1000
`;
}

/** The reference model for service tests: it records applies, can refuse one, can "lose" its table. */
export class TestModel extends ReferenceModel {
  readonly applied: Config[] = [];
  readonly remembered: TriggerTable[] = [];
  failNextApply = false;
  intact = true;

  constructor() {
    super({ now: T0, gatewayAddresses: ['203.0.113.1', '2001:db8:ff::1'] });
  }

  override async apply(config: Config, remembered?: TriggerTable): Promise<ApplyReport> {
    if (this.failNextApply) {
      this.failNextApply = false;
      throw new NftError('NFT_REJECTED', 'nft rejected the ruleset: test');
    }
    this.applied.push(config);
    if (remembered) this.remembered.push(remembered);
    this.intact = true;
    return super.apply(config);
  }

  readonly #held: (() => void)[] = [];
  #holding = false;

  /** From now on reads hang (like a hung nft) until {@link releaseReads}. */
  holdReads(): void {
    this.#holding = true;
  }

  /** Lets the hanging reads finish and later ones run at once. */
  releaseReads(): void {
    this.#holding = false;
    for (const release of this.#held.splice(0)) release();
  }

  override async read(): Promise<DatapathReading> {
    if (this.#holding) await new Promise<void>((resolve) => this.#held.push(resolve));
    const reading = await super.read();
    return { ...reading, intact: reading.intact && this.intact };
  }

  #nextPort = 40_000;

  /** One trigger: the first packet of a new connection (a fresh source port) from a LAN host to a remote. */
  trigger(host: string, port: number, protocol: Protocol = 'udp', remote = REMOTE): void {
    this.process({
      side: 'lan',
      family: 'ipv4',
      protocol,
      src: host,
      sport: this.#nextPort++,
      dst: remote,
      dport: port,
    });
  }
}

/** A started service on a {@link TestModel}. */
export interface Fixture {
  readonly dir: string;
  readonly configPath: string;
  readonly model: TestModel;
  readonly service: Service;
  cleanup(): Promise<void>;
}

/** Starts a service on a fresh model and temp directory; the safety net waits an hour (tests read with `readNow`). */
export async function startFixture(
  options: Partial<ServiceOptions> & { text?: (dir: string) => string } = {},
): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'pt-service-'));
  const configPath = join(dir, 'config.yaml');
  writeFileSync(configPath, (options.text ?? configText)(dir));
  const model = new TestModel();
  const { text: _text, ...rest } = options;
  const service = await startService({
    configStore: createConfigFileStore(configPath),
    openHistory: openSqliteHistory,
    logger: silentLogger,
    datapath: model,
    clock: () => model.now(),
    reconcileIntervalMs: 3_600_000,
    ...rest,
  }).catch((error: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  return {
    dir,
    configPath,
    model,
    service,
    async cleanup() {
      await service.stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
