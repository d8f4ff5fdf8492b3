/**
 * The port through which a learning session watches traffic: the kernel datapath records a LAN device's
 * outbound connections and the inbound attempts that nothing forwarded, only while a session runs.
 */
import type { Family, Protocol } from '../types.js';

/** What to record: the outbound connections of one LAN device, or of every LAN host. */
export interface LearnCapture {
  /** A canonical IPv4 address; absent for every LAN host. */
  readonly host?: string;
}

/** Which way a recorded connection went. */
export type SeenDirection = 'outbound' | 'inbound';

/** One recorded connection: its first packet, no payload. */
export interface SeenConnection {
  /** Milliseconds since the epoch, as the connection tracker reported it. */
  readonly at: number;
  readonly direction: SeenDirection;
  readonly family: Family;
  readonly protocol: Protocol;
  /** Outbound: the LAN device. Inbound: the WAN host that tried. */
  readonly source: string;
  readonly sourcePort: number;
  /** Outbound: the remote contacted. Inbound: the gateway's own address. */
  readonly destination: string;
  /** The destination port: the remote's port (outbound) or the port attempted (inbound). */
  readonly port: number;
  /**
   * Outbound only: the connection was open before the session started (read from the connection tracker at
   * the start; `at` is then the session's start, not the connection's).
   */
  readonly existing?: boolean;
}

/** A running recording; `stop` removes the kernel rule and ends the listener. */
export interface Recording {
  stop(): Promise<void>;
}

/** Starts recordings; implemented by the kernel datapath's recorder. */
export interface LearnRecorder {
  /**
   * Installs the recording rule in our table (kept across applies while the recording runs) and listens to the
   * connections it marks. Resolves once both are in place.
   */
  start(
    capture: LearnCapture,
    onSeen: (connection: SeenConnection) => void,
    onError: (error: Error) => void,
  ): Promise<Recording>;
}
