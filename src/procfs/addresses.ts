// A namespace's own addresses, from files every network namespace has:
//   /proc/<pid>/net/fib_trie  the IPv4 FIB; a local address is a leaf line `|-- A.B.C.D` followed
//                             by `/32 host LOCAL` (the same address appears under Main: and Local:)
//   /proc/<pid>/net/if_inet6  `<32 hex digits> <ifindex> <prefix len> <scope> <flags> <name>`;
//                             scope 00 is global, 10 host (loopback), 20 link
// Loopback (127/8, ::1) and link-local addresses are left out: they identify no one.

/** IPv4 addresses of the namespace, in the order first met. */
export function parseFibTrieLocal(text: string): string[] {
  const out = new Set<string>();
  let leaf: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('|-- ')) leaf = line.slice(4);
    else if (leaf !== undefined && line === '/32 host LOCAL') {
      if (!leaf.startsWith('127.')) out.add(leaf);
    } else if (!line.startsWith('/')) leaf = undefined;
  }
  return [...out];
}

/** Global IPv6 addresses of the namespace, in the kernel's full form (`fd00:0000:…:0005`). */
export function parseIfInet6(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || !/^[0-9a-f]{32}$/.test(f[0]) || f[3] !== '00') continue;
    out.push(f[0].match(/.{4}/g)!.join(':'));
  }
  return out;
}
