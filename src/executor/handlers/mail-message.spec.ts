import { describe, expect, it } from '@jest/globals';
import { asList, defaultText, messageIdOf, planAttachments } from './mail-message.js';

describe(asList.name, () => {
  it.each([
    [undefined, []],
    ['a@x.test', ['a@x.test']],
    [['a@x.test', 'b@x.test'], ['a@x.test', 'b@x.test']],
  ])('%j -> %j', (value, list) => {
    expect(asList(value)).toEqual(list);
  });
});

describe(planAttachments.name, () => {
  it('attaches files inside the export folder only, naming duplicates apart', () => {
    const plan = planAttachments(
      [
        { path: '/data/exports/a.csv', jobId: 'e1' },
        { path: '/etc/passwd', jobId: 'x' },
        { path: '/data/exports/../outbox/m.eml', jobId: 'y' },
        { path: '/data/exports/sub/a.csv', jobId: 'e2' },
        { path: '/data/exports/README', jobId: 'e3' },
        { path: '/data/other/README', jobId: 'e4' },
      ],
      '/data/exports',
    );
    expect(plan).toEqual({
      attach: [
        { filename: 'a.csv', path: '/data/exports/a.csv', jobId: 'e1' },
        { filename: 'a (2).csv', path: '/data/exports/sub/a.csv', jobId: 'e2' },
        { filename: 'README', path: '/data/exports/README', jobId: 'e3' },
      ],
      refused: ['/etc/passwd', '/data/exports/../outbox/m.eml', '/data/other/README'],
    });
  });
});

describe(defaultText.name, () => {
  it.each([
    [[], 0, 'Sent by draconic job J.\n'],
    [[{ filename: 'a.csv' }], 1, 'Sent by draconic job J after 1 dependency.\n\nAttached:\n- a.csv\n'],
    [[{ filename: 'a.csv' }, { filename: 'r.md' }], 3, 'Sent by draconic job J after 3 dependencies.\n\nAttached:\n- a.csv\n- r.md\n'],
  ])('lists %j', (attachments, dependencies, text) => {
    expect(defaultText('J', attachments, dependencies)).toBe(text);
  });
});

describe(messageIdOf.name, () => {
  it('is the same for every attempt of a job, in angle brackets', () => {
    expect(messageIdOf('0190f3a2-7c4e-7b1a-9f00-1234567890ab')).toBe('<0190f3a2-7c4e-7b1a-9f00-1234567890ab@draconic>');
  });
});
