/**
 * Addresses that parse as IP but that no client or probe can use, refused as region answer
 * addresses and endpoint addresses (issue 16, defect 8) and as zone A/AAAA records: the
 * unspecified address (a client sent to 0.0.0.0 connects to itself), broadcast, multicast, the
 * reserved 240.0.0.0/4, and link-local IPv6, scoped or not (`fe80::1%eth0`: an AAAA record has no
 * room for the zone id, which was dropped silently, and link-local is meaningless to anyone off
 * that link). A leaf (src/wire/), so routing,
 * zones and forwarders judge by one copy.
 * @module
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

export const INVALID_ADDRESS = 'MERIDIAN_ERR_INVALID_ADDRESS' as const;

/**
 * One address range and why an address in it is refused. IPv4 addresses are judged with integer
 * arithmetic: a config of 10,000 endpoints judges every address at every compile, and a BlockList
 * check allocates a SocketAddress per call (a tenth of a 10,000-endpoint compile, issue 17). The
 * BlockList judges IPv6, IPv4-mapped forms included.
 */
interface Range {
  list: BlockList;
  why: string;
  /** IPv4 ranges: network and mask as unsigned integers. */
  v4: { net: number; mask: number } | null;
}

function ipv4Int(address: string): number {
  const [a, b, c, d] = address.split('.');
  return ((Number(a) << 24) | (Number(b) << 16) | (Number(c) << 8) | Number(d)) >>> 0;
}

const range = (net: string, prefix: number, family: 'ipv4' | 'ipv6', why: string): Range => {
  const list = new BlockList();
  list.addSubnet(net, prefix, family);
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return { list, why, v4: family === 'ipv4' ? { net: (ipv4Int(net) & mask) >>> 0, mask } : null };
};
const BROADCAST = range('255.255.255.255', 32, 'ipv4', 'the broadcast address');
const MULTICAST = [range('224.0.0.0', 4, 'ipv4', 'multicast (224.0.0.0/4)'), range('ff00::', 8, 'ipv6', 'multicast (ff00::/8)')];
/** Answers and probes: also the unspecified ranges (a client sent to 0.0.0.0 connects to itself). */
const UNUSABLE = [
  range('0.0.0.0', 8, 'ipv4', 'the unspecified ("this network") range 0.0.0.0/8'),
  BROADCAST,
  ...MULTICAST,
  // Reserved for future use (RFC 1112, 4): hosts and routers drop it, so no client can reach it.
  range('240.0.0.0', 4, 'ipv4', 'the reserved range 240.0.0.0/4'),
  range('::', 128, 'ipv6', 'the unspecified address ::'),
  // Without its zone id (which DNS data cannot carry) a link-local address names no one link.
  range('fe80::', 10, 'ipv6', 'link-local (fe80::/10): it needs a zone id, which DNS data cannot carry'),
];
/**
 * Listen addresses: a TCP listener cannot take broadcast or multicast, and link-local addresses
 * (169.254.169.254 is the cloud metadata service) are another host's or one link's; the wildcard
 * addresses are fine here.
 */
const UNBINDABLE = [BROADCAST, ...MULTICAST, range('169.254.0.0', 16, 'ipv4', 'link-local (169.254.0.0/16)'), range('fe80::', 10, 'ipv6', 'link-local (fe80::/10)')];

function judge(address: string, ranges: Range[]): string | null {
  if (isIPv4(address)) {
    const n = ipv4Int(address);
    for (const { v4, why } of ranges) if (v4 && (n & v4.mask) >>> 0 === v4.net) return why;
    return null;
  }
  if (!isIPv6(address)) return null;
  // An IPv4-mapped IPv6 address (::ffff:0.0.0.0) is the IPv4 address; BlockList judges it so.
  for (const { list, why } of ranges) if (list.check(address, 'ipv6')) return why;
  return null;
}

/** Why `address` (already known to be an IP literal) cannot be handed out or probed, or null. */
export function unusableAddress(address: string): string | null {
  if (address.includes('%')) return 'a scoped IPv6 address: DNS data carries no zone id';
  return judge(address, UNUSABLE);
}

/** Why no TCP listener can bind `host` (an IP literal), or null. */
export const unbindableAddress = (host: string): string | null => judge(host, UNBINDABLE);
