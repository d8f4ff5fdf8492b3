import type { ApplyReport, ReleaseSelector } from '../../src/domain/datapath.js';
import type { Config, Family, Protocol, TriggerTable } from '../../src/domain/types.js';

/** What some targets can do beyond the packets: `foreign-ruleset` installs and reads tables of other tools. */
export type TargetCapability = 'foreign-ruleset';

/** The LAN hosts of the test network. */
export type LanHost = 'lan1' | 'lan2';

/** The WAN hosts of the test network. */
export type WanHost = 'wan1' | 'wan2';

/** A protocol and port, in one family (IPv4 unless said). */
export interface Flow {
  readonly protocol: Protocol;
  readonly port: number;
  readonly family?: Family;
}

/** An inbound connection kept open by a scenario (TCP) or a fixed UDP 5-tuple. */
export interface InboundConnection {
  /** Sends once more on it; resolves with the LAN host that received it, or null. */
  send(): Promise<LanHost | null>;
}

/**
 * One implementation of the semantics under test, driven by real or modelled packets. The scenarios in
 * scenarios.ts are written once against this and run against the reference model and the kernel.
 */
export interface ScenarioTarget {
  readonly name: 'model' | 'kernel';
  apply(config: Config): Promise<ApplyReport>;
  /** Trigger traffic: one UDP datagram or one TCP connection attempt from a LAN host to a WAN host. */
  trigger(from: LanHost, to: WanHost, flow: Flow): Promise<void>;
  /**
   * A trigger connection kept for later packets (UDP, one source port): its first packet is the trigger, later
   * ones are its traffic. Resolves once the first packet has left the gateway.
   */
  openTrigger(from: LanHost, to: WanHost, flow: Flow): Promise<{ send(): Promise<void> }>;
  /** Trigger-port traffic arriving on the WAN side, addressed to the gateway. */
  triggerFromWan(from: WanHost, flow: Flow): Promise<void>;
  /**
   * A new inbound connection (fresh source port) from a WAN host to the gateway (IPv4) or to the LAN host `to`
   * (IPv6): resolves with the LAN host that received it, or null.
   */
  inbound(from: WanHost, flow: Flow, to?: LanHost): Promise<LanHost | null>;
  /** Like {@link inbound}, but keeps the connection for later sends; null when the first send was not delivered. */
  connect(from: WanHost, flow: Flow, to?: LanHost): Promise<InboundConnection | null>;
  /** Lets time pass: the model's clock, or real time for the kernel. */
  wait(ms: number): Promise<void>;
  table(): Promise<TriggerTable>;
  release(selector: ReleaseSelector): Promise<number>;
  remove(): Promise<void>;
  /** A text snapshot of everything in the ruleset that is not ours (the kernel), for coexistence checks. */
  foreignRuleset?(): Promise<string>;
  /** Installs a table of another tool before a coexistence check (the kernel). */
  installForeign?(script: string): Promise<void>;
  dispose(): Promise<void>;
}

/** Creates a fresh target for one scenario. */
export type TargetFactory = () => Promise<ScenarioTarget>;
