// Addresses as /proc/<pid>/net/nf_conntrack prints them, and address prefixes. The kernel prints
// IPv6 in full (`fd00:0000:…:0002`, lower case); discovery and configuration use the short form,
// so both are brought to the kernel's form once, and lookups per entry are plain string lookups.
import { isIP } from 'node:net';

/** The kernel's text for `ip` (IPv4 as is, IPv6 expanded), or undefined when `ip` is no address. */
export function kernelForm(ip: string): string | undefined {
  const v = isIP(ip);
  if (v === 4) return ip;
  if (v !== 6) return undefined;
  return groups(ip).map((g) => g.toString(16).padStart(4, '0')).join(':');
}

/** The eight 16-bit groups of a valid IPv6 address (with `::` and a dotted IPv4 tail). */
function groups(ip: string): number[] {
  let text = ip.toLowerCase();
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number);
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = text.split('::');
  const h = head ? head.split(':') : [];
  const r = rest === undefined ? [] : rest ? rest.split(':') : [];
  const zeros = rest === undefined ? 0 : 8 - h.length - r.length;
  return [...h, ...Array<string>(zeros).fill('0'), ...r].map((g) => parseInt(g, 16));
}

/** An address as a number (32 bits for IPv4, 128 for IPv6); undefined when it is none. */
export function addrValue(ip: string): { family: 4 | 6; value: bigint } | undefined {
  const v = isIP(ip);
  if (v === 4) return { family: 4, value: ip.split('.').reduce((n, o) => (n << 8n) | BigInt(Number(o)), 0n) };
  if (v === 6) return { family: 6, value: groups(ip).reduce((n, g) => (n << 16n) | BigInt(g), 0n) };
  return undefined;
}

export interface Prefix {
  family: 4 | 6;
  bits: number;
  net: bigint;
  text: string;
}

/** `10.0.0.0/8`, `fd00::/8`, or a bare address (a /32 or /128); throws naming what is wrong. */
export function parsePrefix(text: string): Prefix {
  const [ip, len, more] = text.trim().split('/');
  const a = addrValue(ip);
  if (!a || more !== undefined) throw new Error(`"${text}" is not an address prefix (like 10.0.0.0/8 or fd00::/8)`);
  const width = a.family === 4 ? 32 : 128;
  const bits = len === undefined ? width : /^\d+$/.test(len) ? Number(len) : NaN;
  if (!(bits >= 0 && bits <= width)) throw new Error(`"${text}": prefix length must be 0…${width}`);
  return { family: a.family, bits, net: a.value >> BigInt(width - bits), text };
}

export function inPrefix(p: Prefix, a: { family: 4 | 6; value: bigint }): boolean {
  if (p.family !== a.family) return false;
  return a.value >> BigInt((a.family === 4 ? 32 : 128) - p.bits) === p.net;
}

/** Named prefix lists; the name of the longest prefix that holds an address wins. */
export class PrefixMap {
  private readonly list: { p: Prefix; name: string }[];

  constructor(map: Record<string, readonly string[]>, key: string) {
    this.list = Object.entries(map).flatMap(([name, prefixes]) =>
      prefixes.map((t) => {
        try {
          return { p: parsePrefix(t), name };
        } catch (err) {
          throw new Error(`${key}.${name}: ${(err as Error).message}`);
        }
      }),
    );
    this.list.sort((x, y) => y.p.bits - x.p.bits);
  }

  get size(): number {
    return this.list.length;
  }

  lookup(a: { family: 4 | 6; value: bigint }): string | undefined {
    for (const { p, name } of this.list) if (inPrefix(p, a)) return name;
    return undefined;
  }

  /** Every name whose prefixes hold the address (for flags). */
  all(a: { family: 4 | 6; value: bigint }): string[] {
    const out = new Set<string>();
    for (const { p, name } of this.list) if (inPrefix(p, a)) out.add(name);
    return [...out];
  }
}
