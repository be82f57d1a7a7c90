import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { parseUtcTimestamptz } from './timestamps.js';

/** node-postgres's own parser of timestamptz text (postgres-date), which the fast path stands in for. */
const parseDate = pg.types.getTypeParser(1184, 'text') as (value: string) => unknown;

describe(parseUtcTimestamptz.name, () => {
  it.each([
    '2026-11-27 23:05:08.123+00',
    '2026-11-27 23:05:08+00',
    '2026-11-27 23:05:08.1+00',
    '2026-11-27 23:05:08.12+00',
    '2026-11-27 23:05:08.123456+00',
    '2024-02-29 00:00:00.999+00',
    '1970-01-01 00:00:00+00',
    '2399-12-31 23:59:59.9+00',
  ])('reads %s as the general parser does', (text) => {
    expect(parseUtcTimestamptz(text)?.getTime()).toBe((parseDate(text) as Date).getTime());
  });

  it('agrees with the general parser on 10,000 random instants', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let i = 0; i < 10_000; i++) {
      const date = new Date(Math.floor(random() * 13e12));
      const text = date.toISOString().replace('T', ' ').replace('Z', '+00');
      expect(parseUtcTimestamptz(text)?.getTime()).toBe(date.getTime());
    }
  });

  it.each(['2026-11-27 23:05:08.123+01', '2026-11-27 23:05:08.123+05:30', 'infinity', '-infinity', '0044-03-15 12:00:00+00 BC', '2026-11-27T23:05:08Z', '2026-11-27 23:05:08.+00', '0099-01-01 00:00:00+00'])(
    'leaves %s to the general parser',
    (text) => {
      expect(parseUtcTimestamptz(text)).toBeNull();
    },
  );
});
