import { alignedTimestamp, parseInterval } from '../../src/schedule';

describe('parseInterval', () => {
  it.each([
    ['60', '0 */1 * * * *', 60],
    ['1', '* * * * * *', 1],
    ['15', '*/15 * * * * *', 15],
    ['300', '0 */5 * * * *', 300],
    ['3600', '0 0 */1 * * *', 3600],
    ['86400', '0 0 */24 * * *', 86400],
  ])('%s seconds → %s', (v, cron, seconds) => {
    expect(parseInterval(v)).toEqual({ cron, seconds });
  });

  it('takes a cron expression as given', () => {
    expect(parseInterval('*/30 * * * * *')).toEqual({ cron: '*/30 * * * * *' });
    expect(parseInterval('*/5 * * * *')).toEqual({ cron: '*/5 * * * *' });
  });

  it.each(['0', '45', '90', '7000', 'abc', '* * *', '61 * * * * *'])('rejects %s and says what is allowed', (v) => {
    expect(() => parseInterval(v)).toThrow(/dividing a minute/);
  });
});

describe('alignedTimestamp', () => {
  it('aligns down to the period', () => {
    expect(alignedTimestamp(new Date(1_700_000_059_999), 60)).toBe(1_700_000_040);
    expect(alignedTimestamp(new Date(1_700_000_059_999), 15)).toBe(1_700_000_055);
  });
  it('keeps whole seconds for cron schedules', () => {
    expect(alignedTimestamp(new Date(1_700_000_059_999))).toBe(1_700_000_059);
  });
});
