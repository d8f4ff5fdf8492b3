/**
 * The connection mark bits porttrigger owns. A connection of an entry is marked on its first packet, so that
 * the connection tracker carries it from then on: the control plane finds an entry's connections by these bits
 * (refresh, restore), and `onExpire: close` checks only connections that carry CLOSE. Other bits of the mark
 * are left as other tools set them.
 */
export const CT_MARK = {
  /** Every bit of an entry (notify included); the learning bits below are only ever added, never cleared by a rule. */
  mask: 0x0f00_0000,
  /** A connection of an entry: the holder's trigger connection or an admitted inbound one. */
  ours: 0x0800_0000,
  /** An inbound connection admitted by an entry (without it: a trigger connection). */
  inbound: 0x0400_0000,
  /** Admitted by a rule with `onExpire: close`: cut when its host no longer holds the entry. */
  close: 0x0200_0000,
  /**
   * A connection that may have changed the trigger table: a trigger (which opens or refreshes an entry), a
   * conflict or a blocked trigger. The service listens for new connections with this bit, so that it reads
   * the table when something happened and not on a timer; inbound connections only refresh, so they lack it.
   */
  notify: 0x0100_0000,
  /**
   * Set by the control plane, never by a rule: the trigger connection of a holder whose entry was released. It
   * never takes a rule again (docs/semantics.md, 11); its first packet is long past, so no rule rewrites it.
   */
  released: 0x4000_0000,
  /** Recorded by a learning session (only while one runs): an outbound connection or an inbound attempt. */
  learn: 0x1000_0000,
  /** With `learn`: an inbound attempt from the WAN that nothing forwarded. */
  learnInbound: 0x2000_0000,
} as const;

/** A mark value as nft and conntrack write it. */
export function markHex(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}

/** The nft statement that sets our bits of a connection's mark to `bits`, keeping the others. */
export function setMarkStatement(bits: number): string {
  const keep = ~CT_MARK.mask >>> 0;
  return `ct mark set ct mark & ${markHex(keep)} | ${markHex(bits)}`;
}
