/**
 * Address blocks as operators write them in the config (`health.targets`, `dns.rrl.exemptClients`):
 * `a.b.c.d/n`, `v6/n`, or a bare address (a /32 or /128). Refused, as BIND's address match lists
 * refuse them (lib/isccfg: "address/prefix length mismatch"): host bits set past the prefix
 * (`10.0.0.1/8` is a typo for one host or for 10.0.0.0/8, and which one cannot be told), and a
 * scoped IPv6 address (`fe80::1%eth0`: a zone id names a link, not a network; the id used to be
 * dropped silently). A fresh-eyes review of issue 16 found both accepted.
 * @module
 */
import { BlockList, isIP } from 'node:net';

export interface Cidr {
  /** As written, with `/32` or `/128` added to a bare address. */
  text: string;
  list: BlockList;
}

/** The 4 or 16 bytes of an IP literal (IPv6 in any RFC 4291 form, an embedded IPv4 tail included). */
function bytesOf(addr: string, family: 4 | 6): number[] {
  if (family === 4) return addr.split('.').map(Number);
  const words = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((w) => {
          if (!w.includes('.')) return [parseInt(w, 16)];
          const [a, b, c, d] = w.split('.').map(Number) as [number, number, number, number];
          return [(a << 8) | b, (c << 8) | d];
        });
  const [head = '', tail] = addr.split('::');
  const h = words(head);
  const t = tail === undefined ? [] : words(tail);
  const all = [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
  return all.flatMap((w) => [w >> 8, w & 0xff]);
}

/** The network of `bytes` under `prefix`, or null when no bit past the prefix is set. */
function hostBits(bytes: number[], prefix: number): number[] | null {
  const masked = bytes.map((b, i) => b & (0xff << (8 - Math.max(0, Math.min(8, prefix - 8 * i)))) & 0xff);
  return masked.some((b, i) => b !== bytes[i]) ? masked : null;
}

const format = (bytes: number[], family: 4 | 6): string =>
  family === 4 ? bytes.join('.') : new URL(`http://[${Array.from({ length: 8 }, (_, i) => ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16)).join(':')}]/`).hostname.slice(1, -1);

/** The block `text` names, or a reason string when it names none. */
export function parseCidr(text: string): Cidr | string {
  const [addr = '', bits, extra] = text.split('/');
  if (addr.includes('%')) return `"${text}" is a scoped IPv6 address: a zone id names a link, not a network`;
  const family = isIP(addr);
  const max = family === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (family === 0 || extra !== undefined || !/^\d+$/.test(bits ?? String(max)) || prefix > max) return `"${text}" is not an address or CIDR`;
  const network = hostBits(bytesOf(addr, family as 4 | 6), prefix);
  if (network) {
    return `"${text}" has host bits set past /${prefix}: write the network, ${format(network, family as 4 | 6)}/${prefix}, or the host, ${addr}/${max} (BIND refuses it too: address/prefix length mismatch)`;
  }
  const list = new BlockList();
  list.addSubnet(addr, prefix, family === 4 ? 'ipv4' : 'ipv6');
  return { text: bits === undefined ? `${addr}/${max}` : text, list };
}
