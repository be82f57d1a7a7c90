import { createBody, describeCron } from './schedules.js';

describe('describeCron', () => {
  it('says a daily cron in words with its zone', () => {
    expect(describeCron('0 9 * * *', 'Europe/Berlin')).toEqual({ ok: true, text: 'At 09:00 (Europe/Berlin)' });
  });
  it('defaults the zone to UTC', () => {
    expect(describeCron('*/5 * * * *')).toEqual({ ok: true, text: 'Every 5 minutes (UTC)' });
  });
  it('reads a weekday range', () => {
    expect(describeCron('30 8 * * 1-5', 'UTC').text).toBe('At 08:30, Monday through Friday (UTC)');
  });
  it('says why an expression cannot be read', () => {
    const words = describeCron('61 * * * *', 'UTC');
    expect(words.ok).toBe(false);
    expect(words.text).toMatch(/^Not readable: /);
    expect(describeCron('  ').ok).toBe(false);
  });
});

describe('createBody', () => {
  it('builds POST /schedules from the form', () => {
    expect(createBody({ name: ' r ', cron: '0 9 * * *', timezone: 'Europe/Berlin', type: 'report', payload: '{"a":1}' })).toEqual({
      name: 'r',
      cron: '0 9 * * *',
      timezone: 'Europe/Berlin',
      job: { type: 'report', payload: { a: 1 } },
    });
  });
  it('refuses a payload that is not a JSON object', () => {
    expect(() => createBody({ name: 'r', cron: '* * * * *', timezone: '', type: 't', payload: '[1]' })).toThrow(/JSON object/);
    expect(() => createBody({ name: 'r', cron: '* * * * *', timezone: '', type: 't', payload: '{' })).toThrow(/not valid JSON/);
  });
});
