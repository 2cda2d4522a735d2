// Cumulative counters → increments: baseline on first sight, never negative, resets, undo of
// undelivered increments (never counted twice), and forgetting what is no longer seen.
import { CounterDeltas } from '../../src/deliver/counter-deltas';

/** Feeds one key a sequence of values; what each observation yields (`-` = nothing). */
function run(values: number[]): string[] {
  const d = new CounterDeltas();
  return values.map((v) => {
    const inc = d.observe('k', v);
    d.endCycle();
    return inc === undefined ? '-' : `${inc.delta}${inc.reset ? ' reset' : ''}`;
  });
}

describe('CounterDeltas', () => {
  it.each<[string, number[], string[]]>([
    ['first sight is the baseline', [50], ['-']],
    ['increments', [50, 53, 60], ['-', '3', '7']],
    ['unchanged is an increment of 0', [7, 7], ['-', '0']],
    ['a drop is a reset: the new value is the increment', [100, 4, 9], ['-', '4 reset', '5']],
    ['a drop to zero', [100, 0], ['-', '0 reset']],
    ['64-bit scale values', [2 ** 52, 2 ** 52 + 10], ['-', '10']],
    ['non-finite and negative values are ignored, the baseline stays', [10, NaN, -1, Infinity, 15], ['-', '-', '-', '-', '5']],
  ])('%s', (_, values, out) => {
    expect(run(values)).toEqual(out);
  });

  it('a cycle with an invalid value keeps the key and its baseline', () => {
    const d = new CounterDeltas();
    d.observe('k', 1);
    d.endCycle();
    d.observe('k', NaN);
    expect(d.endCycle()).toBe(0);
    expect(d.observe('k', 5)?.delta).toBe(4);
  });

  it('forgets keys not observed in a cycle; one that comes back starts a new baseline', () => {
    const d = new CounterDeltas();
    d.observe('a', 1);
    d.observe('b', 1);
    expect(d.endCycle()).toBe(0);
    d.observe('a', 2);
    expect(d.endCycle()).toBe(1);
    expect(d.size).toBe(1);
    expect(d.observe('b', 1000)).toBeUndefined();
    expect(d.observe('a', 3)?.delta).toBe(1);
  });

  it('keys are identities: a recreated namespace (same inode, new process) is a new baseline, never negative', () => {
    const d = new CounterDeltas();
    d.observe('ns:4026532300:300:1000:tcp_active_opens', 500);
    d.endCycle();
    expect(d.observe('ns:4026532300:300:2000:tcp_active_opens', 3)).toBeUndefined();
    expect(d.endCycle()).toBe(1); // the old identity is gone
  });

  it('undo gives the increment back to the next observation', () => {
    const d = new CounterDeltas();
    d.observe('k', 10);
    const inc = d.observe('k', 15)!;
    expect(inc.delta).toBe(5);
    inc.undo();
    expect(d.observe('k', 18)?.delta).toBe(8);
  });

  it('undo after a reset keeps the reset for the next observation', () => {
    const d = new CounterDeltas();
    d.observe('k', 100);
    const inc = d.observe('k', 4)!;
    expect(inc).toMatchObject({ delta: 4, reset: true });
    inc.undo();
    expect(d.observe('k', 6)).toMatchObject({ delta: 6, reset: true });
  });

  it('a late undo (after a newer observation) is ignored: nothing is counted twice', () => {
    const d = new CounterDeltas();
    d.observe('k', 10);
    const first = d.observe('k', 15)!; // in flight on a slow socket…
    const second = d.observe('k', 20)!; // …while the next cycle goes out
    first.undo(); // the first send fails afterwards
    expect(second.delta).toBe(5);
    expect(d.observe('k', 21)?.delta).toBe(1);
  });

  it('an undo for a forgotten key does not bring it back', () => {
    const d = new CounterDeltas();
    d.observe('k', 1);
    const inc = d.observe('k', 2)!;
    d.endCycle();
    d.endCycle(); // k not seen: forgotten
    inc.undo();
    expect(d.size).toBe(0);
  });

  it('takes any key type', () => {
    const d = new CounterDeltas<number>();
    d.observe(1, 1);
    expect(d.observe(1, 3)?.delta).toBe(2);
  });
});
