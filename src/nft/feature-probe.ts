/** The scratch table the doctor's kernel check declares, with `nft -c` only. */
export const DOCTOR_TABLE = 'porttrigger_doctor';

/** The script the doctor checks with `nft -c`: every feature the datapath uses, in a scratch table. */
export function kernelFeatureScript(): string {
  const t = `inet ${DOCTOR_TABLE}`;
  return [
    `table ${t} {`,
    '\tset s { typeof numgen inc mod 1 . ip saddr; size 8; flags dynamic,timeout; }',
    '\tmap m { typeof numgen inc mod 1 : ip daddr; size 8; flags dynamic,timeout; }',
    '\tmap v { type inet_proto . inet_service : verdict; flags interval; elements = { tcp . 7000-7010 : jump c, udp . 7020 : goto d } }',
    '\tchain c { jhash meta nfproto mod 1 offset 7 . ip saddr @s update @m { jhash meta nfproto mod 1 offset 7 timeout 5s : ip saddr } update @s { jhash meta nfproto mod 1 offset 7 . ip saddr timeout 5s } return; }',
    '\tchain d { dnat ip to jhash meta nfproto mod 1 offset 7 map @m; }',
    '\tchain dstnat { type nat hook prerouting priority dstnat; policy accept; meta nfproto ipv4 meta l4proto . th dport vmap @v; iifname "lo" fib daddr oifname { "lo" } ct mark set ct mark & 0xf1ffffff | 0x08000000; }',
    '\tchain srcnat { type nat hook postrouting priority srcnat; policy accept; ct status dnat meta nfproto ipv4 meta l4proto . th dport vmap @v; }',
    '\tchain forward { type filter hook forward priority filter; policy accept; ct mark & 0x02000000 == 0x02000000 jhash meta nfproto mod 1 offset 7 . ct reply ip saddr != @s drop; }',
    '}',
    `delete table ${t}`,
    '',
  ].join('\n');
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
