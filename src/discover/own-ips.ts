// A pod's IPs when its runtime was not asked for them (a sandbox the /proc scan found, see
// cri/sandbox-scan.ts): the namespace's own addresses as the kernel lists them — what the CNI gave
// the pod's interfaces, the same the runtime's status reports. IPv4 first, then global IPv6 in
// the short form the runtimes print (fd00::5).
import { ProcReader, unlessGone } from '../procfs/read';
import { parseFibTrieLocal, parseIfInet6 } from '../procfs/addresses';

export function namespaceIps(reader: ProcReader, procRoot: string, pid: number): string[] {
  const v4 = unlessGone(() => reader.read(`${procRoot}/${pid}/net/fib_trie`));
  const v6 = unlessGone(() => reader.read(`${procRoot}/${pid}/net/if_inet6`));
  return [...(v4 === undefined ? [] : parseFibTrieLocal(v4)), ...(v6 === undefined ? [] : parseIfInet6(v6).map(shortIpv6))];
}

/** `fd00:0000:…:0005` → `fd00::5` (the WHATWG URL parser serialises IPv6 hosts in RFC 5952 form). */
export function shortIpv6(full: string): string {
  return new URL(`http://[${full}]/`).hostname.slice(1, -1);
}
