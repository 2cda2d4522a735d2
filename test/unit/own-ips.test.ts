// A scan-found pod's IPs come from its namespace's own address files: IPv6 in the short form the
// runtimes print.
import { shortIpv6 } from '../../src/discover/own-ips';

describe('shortIpv6', () => {
  it.each([
    ['fd000000000000000000000000000005'.match(/.{4}/g)!.join(':'), 'fd00::5'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
    ['fe80:0000:0000:0000:0202:b3ff:fe1e:8329', 'fe80::202:b3ff:fe1e:8329'],
  ])('%s → %s', (full, short) => expect(shortIpv6(full)).toBe(short));
});
