import { uuidv7 } from './uuid-v7.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const msOf = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);

describe('uuidv7', () => {
  it('has the version and variant bits of a v7 UUID and the current time in its first 48 bits', () => {
    const before = Date.now();
    const id = uuidv7();
    const after = Date.now();
    expect(id).toMatch(UUID_V7);
    expect(msOf(id)).toBeGreaterThanOrEqual(before);
    expect(msOf(id)).toBeLessThanOrEqual(after + 1);
  });

  it('is strictly increasing within the process, also within one millisecond and past the counter', () => {
    const ids = Array.from({ length: 20_000 }, () => uuidv7(1_800_000_000_000)); // one millisecond, 20,000 ids
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids.slice(-3)) expect(id).toMatch(UUID_V7);
    // the counter ran out several times: the timestamp moved ahead by a few milliseconds, no more
    expect(msOf(ids[ids.length - 1]!) - 1_800_000_000_000).toBeLessThan(20);
    const later = uuidv7(1_800_000_000_000 + 1000);
    expect(later > ids[ids.length - 1]!).toBe(true);
    expect(msOf(later)).toBe(1_800_000_000_000 + 1000);
  });

  it('draws fresh random bits for every id (no two share their random tail)', () => {
    const tails = new Set(Array.from({ length: 5000 }, () => uuidv7().slice(19)));
    expect(tails.size).toBe(5000);
  });

  it('encodes timestamps across the whole 48-bit range', () => {
    expect(msOf(uuidv7(0x7fffffffffff + 1_000_000))).toBeGreaterThan(0x7fffffffffff);
  });
});
