import { alignedTimestamp, parseInterval, startSchedule } from '../../src/schedule/interval';

describe('parseInterval', () => {
  it.each([
    ['60', '0 */1 * * * *', 60],
    ['1', '* * * * * *', 1],
    ['15', '*/15 * * * * *', 15],
    ['300', '0 */5 * * * *', 300],
    ['3600', '0 0 */1 * * *', 3600],
    ['86400', '0 0 */24 * * *', 86400],
  ])('%s seconds → %s', (v, cron, seconds) => {
    expect(parseInterval(v)).toEqual({ cron, period: seconds, fixed: true });
  });

  it('takes a cron expression as given, with its period: the longest gap between firings', () => {
    expect(parseInterval('*/30 * * * * *')).toEqual({ cron: '*/30 * * * * *', period: 30, fixed: false });
    expect(parseInterval('*/5 * * * *')).toEqual({ cron: '*/5 * * * *', period: 300, fixed: false });
    expect(parseInterval('0 9,17 * * *')).toEqual({ cron: '0 9,17 * * *', period: 16 * 3600, fixed: false });
    expect(parseInterval('15 */2 * * * *')).toEqual({ cron: '15 */2 * * * *', period: 120, fixed: false });
  });

  it.each(['0', '45', '90', '7000', 'abc', '* * *', '61 * * * * *'])('rejects %s and says what is allowed', (v) => {
    expect(() => parseInterval(v)).toThrow(/dividing a minute/);
  });
});

describe('alignedTimestamp', () => {
  it('aligns down to the period', () => {
    expect(alignedTimestamp(new Date(1_700_000_059_999), { period: 60, fixed: true })).toBe(1_700_000_040);
    expect(alignedTimestamp(new Date(1_700_000_059_999), { period: 15, fixed: true })).toBe(1_700_000_055);
  });
  it('keeps whole seconds for cron schedules', () => {
    expect(alignedTimestamp(new Date(1_700_000_059_999))).toBe(1_700_000_059);
  });
});

describe('startSchedule', () => {
  it('reports a tick the event loop was too busy to run (more than 1 s late) instead of running it', async () => {
    const ran: number[] = [];
    const missed: number[] = [];
    const schedule = startSchedule(parseInterval('1'), (at) => ran.push(at.getTime()), (at) => missed.push(at.getTime()));
    try {
      await new Promise((r) => setTimeout(r, 1100)); // past the first slot
      const busyUntil = Date.now() + 2600; // a synchronous stretch over two more slots
      while (Date.now() < busyUntil) {
        /* the event loop is blocked */
      }
      await new Promise((r) => setTimeout(r, 1100));
    } finally {
      await schedule.stop();
    }
    expect(missed.length).toBeGreaterThanOrEqual(1);
    expect(ran.length).toBeGreaterThanOrEqual(2);
    expect(new Set([...ran, ...missed]).size).toBe(ran.length + missed.length); // a slot is run or missed, never both
  });
});
