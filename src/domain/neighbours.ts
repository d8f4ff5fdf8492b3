/** The port through which faces learn who a LAN address is: its host name and MAC, where the router knows them. */

/** What the router knows about one LAN address. */
export interface HostInfo {
  readonly address: string;
  readonly mac?: string;
  /** From a DHCP lease (dnsmasq, odhcpd). */
  readonly name?: string;
}

/** Reads what the router knows about its LAN hosts, keyed by canonical address; never throws. */
export type HostDirectory = () => Promise<ReadonlyMap<string, HostInfo>>;
