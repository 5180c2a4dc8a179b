/**
 * Addresses that parse as IP but that no client or probe can use, refused as region answer
 * addresses and endpoint addresses (issue 16, defect 8): the unspecified address (a client sent to
 * 0.0.0.0 connects to itself), broadcast, multicast, and scoped IPv6 (`fe80::1%eth0`: an AAAA
 * record has no room for the zone id, which was dropped silently, and link-local is meaningless to
 * anyone off that link).
 * @module
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

export const INVALID_ADDRESS = 'MERIDIAN_ERR_INVALID_ADDRESS' as const;

const RULES: [string, number, 'ipv4' | 'ipv6', string][] = [
  ['0.0.0.0', 8, 'ipv4', 'the unspecified ("this network") range 0.0.0.0/8'],
  ['255.255.255.255', 32, 'ipv4', 'the broadcast address'],
  ['224.0.0.0', 4, 'ipv4', 'multicast (224.0.0.0/4)'],
  ['::', 128, 'ipv6', 'the unspecified address ::'],
  ['ff00::', 8, 'ipv6', 'multicast (ff00::/8)'],
];
const LISTS = RULES.map(([net, prefix, family, why]) => {
  const list = new BlockList();
  list.addSubnet(net, prefix, family);
  return { list, why };
});

/** Why `address` (already known to be an IP literal) cannot be handed out or probed, or null. */
export function unusableAddress(address: string): string | null {
  if (address.includes('%')) return 'a scoped IPv6 address: DNS data carries no zone id';
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : null;
  if (family === null) return null;
  // An IPv4-mapped IPv6 address (::ffff:0.0.0.0) is the IPv4 address; BlockList judges it so.
  for (const { list, why } of LISTS) if (list.check(address, family)) return why;
  return null;
}
