// The socket-table parser on real kernel text: test/fixtures/kernel/6.18/orphans.tcp{,6} were
// captured on 6.18.44 from an `unshare -n` namespace running
//   sockmix --orphan4 2 --orphan6 1 --lastack4 1 --fw2orphan4 1 --fw2tw4 1
// whose sockstat (orphans.sockstat, taken alone on an otherwise orphan-free host) said orphan 5.
import * as fs from 'fs';
import * as path from 'path';
import { parseTcpTable, TCP_STATES } from '../../src/procfs/tcp-table';
import { parseSockstat } from '../../src/procfs/sockstat';

const K = path.join(__dirname, '..', 'fixtures', 'kernel', '6.18');
const read = (f: string): string => fs.readFileSync(path.join(K, f), 'latin1');

describe('parseTcpTable', () => {
  it('counts the orphans sockstat counted: FIN_WAIT1, LAST_ACK, a full FIN_WAIT2; not the timewait FIN_WAIT2', () => {
    const v4 = parseTcpTable(read('orphans.tcp'));
    const v6 = parseTcpTable(read('orphans.tcp6'));
    expect(v4.orphans).toBe(4); // 2 FIN_WAIT1 + 1 LAST_ACK + 1 FIN_WAIT2 (TCP_LINGER2 120, tr 2)
    expect(v6.orphans).toBe(1); // 1 FIN_WAIT1
    expect(v4.orphans + v6.orphans).toBe(parseSockstat(read('orphans.sockstat')).TCP.orphan);
    expect(v4.malformed + v6.malformed).toBe(0);
  });

  it('counts every socket line by the state the kernel printed', () => {
    const v4 = parseTcpTable(read('orphans.tcp'));
    const s = TCP_STATES;
    expect(v4.states[s.established]).toBe(2); // the FIN_WAIT1 orphans' servers, never reading
    expect(v4.states[s.fin_wait1]).toBe(2);
    expect(v4.states[s.last_ack]).toBe(1);
    expect(v4.states[s.close_wait]).toBe(2); // the two FIN_WAIT2 clients' servers
    expect(v4.states[s.fin_wait2]).toBe(3); // the LAST_ACK's client (fd kept) + orphan + timewait substate
    expect(v4.states.reduce((a, b) => a + b, 0)).toBe(10);
    const v6 = parseTcpTable(read('orphans.tcp6'));
    expect([v6.states[s.established], v6.states[s.fin_wait1]]).toEqual([1, 1]);
  });

  it('reads an empty table (header only) as zeros', () => {
    const t = parseTcpTable(read('orphans.tcp').split('\n')[0] + '\n');
    expect(t).toEqual({ states: new Array(16).fill(0), orphans: 0, malformed: 0 });
  });

  it('a socket with an inode is not an orphan, whatever its state', () => {
    const line = '   0: 0100007F:CE0E 0100007F:BB01 04 00001C01:00000000 04:00000076 00000000     0        0 12345 2 0000000000000000 20 0 0 12 -1';
    expect(parseTcpTable(`header\n${line}\n`)).toMatchObject({ orphans: 0, malformed: 0 });
    expect(parseTcpTable(`header\n${line.replace(' 12345 ', ' 0 ')}\n`)).toMatchObject({ orphans: 1 });
  });

  it.each([
    ['a truncated line', '   8: 0100007F:CE0E 0100007F:BB01 04 00001C01:00000000'],
    ['a state that is not hex', '   8: 0100007F:CE0E 0100007F:BB01 ZZ 00001C01:00000000 04:00000076 00000000     0        0 0 2'],
    ['a timer without its colon', '   8: 0100007F:CE0E 0100007F:BB01 04 00001C01:00000000 0400000076 00000000     0        0 0 2'],
    ['an inode that is not a number', '   8: 0100007F:CE0E 0100007F:BB01 04 00001C01:00000000 04:00000076 00000000     0        0 x 2'],
  ])('counts %s as malformed, not as a socket', (_name, line) => {
    const t = parseTcpTable(`header\n${line}\n`);
    expect(t.malformed).toBe(1);
    expect(t.orphans).toBe(0);
    expect(t.states.every((n) => n === 0)).toBe(true);
  });
});
