import { describe, expect, it } from '@jest/globals';
import { parse } from 'csv-parse/sync';
import { NonRetryableError } from '../non-retryable-error.js';
import { columnsOf, csvCell, defaultExportName, MAX_EXPORT_CELLS, project, recordsOfUser, renderRecords } from './export-format.js';

const records = [
  { id: 1, name: 'Ada, Countess', note: 'said "hi"\nthen left', active: true, tags: ['a', 'b'] },
  { id: 2, name: 'Grace', extra: null },
];

describe(columnsOf.name, () => {
  it('lists every key in the order first seen', () => {
    expect(columnsOf(records)).toEqual(['id', 'name', 'note', 'active', 'tags', 'extra']);
  });
});

describe(csvCell.name, () => {
  it.each([
    [null, ''],
    [undefined, ''],
    ['x', 'x'],
    [1.5, '1.5'],
    [false, 'false'],
    [{ a: 1 }, '{"a":1}'],
    [[1, 2], '[1,2]'],
  ])('%j -> %j', (value, cell) => {
    expect(csvCell(value)).toBe(cell);
  });
});

describe(renderRecords.name, () => {
  it('writes CSV that parses back to the same cells (quotes, commas, line breaks)', () => {
    const { content, columns } = renderRecords(records, 'csv');
    expect(columns).toEqual(['id', 'name', 'note', 'active', 'tags', 'extra']);
    expect(parse(content, { columns: true })).toEqual([
      { id: '1', name: 'Ada, Countess', note: 'said "hi"\nthen left', active: 'true', tags: '["a","b"]', extra: '' },
      { id: '2', name: 'Grace', note: '', active: '', tags: '', extra: '' },
    ]);
  });

  it('writes the chosen fields, in order, with a header row even with no records', () => {
    expect(renderRecords(records, 'csv', { fields: ['name', 'id'] }).content).toBe('name,id\n"Ada, Countess",1\nGrace,2\n');
    expect(renderRecords([], 'csv', { fields: ['user_id', 'total'] }).content).toBe('user_id,total\n');
  });

  it('puts the known column order first, then the other keys', () => {
    expect(renderRecords([{ b: 1, a: 2, c: 3 }], 'csv', { columnOrder: ['c', 'a', 'gone'] })).toEqual({ content: 'c,a,gone,b\n3,2,,1\n', columns: ['c', 'a', 'gone', 'b'] });
    expect(renderRecords([{ b: 1, a: 2 }], 'ndjson', { columnOrder: ['a'] }).content).toBe('{"b":1,"a":2}\n');
  });

  it('with escapeFormulas, writes text a spreadsheet would run as a formula with a leading quote; numbers as they are', () => {
    const hostile = [{ a: '=HYPERLINK("http://x")', b: -12.5, c: '+1', d: '@SUM(A1)', e: '-2+3', f: '\tx', g: 'plain', h: 1e21, i: -0 }];
    const escaped = parse(renderRecords(hostile, 'csv', { escapeFormulas: true }).content, { columns: true });
    expect(escaped).toEqual([{ a: '\'=HYPERLINK("http://x")', b: '-12.5', c: "'+1", d: "'@SUM(A1)", e: "'-2+3", f: "'\tx", g: 'plain', h: '1e+21', i: '0' }]);
    const asIs = parse(renderRecords(hostile, 'csv').content, { columns: true });
    expect(asIs).toEqual([{ a: '=HYPERLINK("http://x")', b: '-12.5', c: '+1', d: '@SUM(A1)', e: '-2+3', f: '\tx', g: 'plain', h: '1e+21', i: '0' }]);
  });

  it('writes an empty CSV when there are no columns at all', () => {
    expect(renderRecords([], 'csv')).toEqual({ content: '', columns: [] });
  });

  it.each([
    ['json', `${JSON.stringify(records, null, 2)}\n`],
    ['ndjson', `${JSON.stringify(records[0])}\n${JSON.stringify(records[1])}\n`],
  ] as const)('writes %s', (format, content) => {
    expect(renderRecords(records, format).content).toBe(content);
  });

  it.each([
    ['json', '[]\n'],
    ['ndjson', ''],
  ] as const)('writes an empty %s', (format, content) => {
    expect(renderRecords([], format).content).toBe(content);
  });
});

describe(project.name, () => {
  it('keeps the fields named (dotted paths too), null when missing', () => {
    expect(project([{ a: 1, b: { c: 2 }, d: 3 }], ['b.c', 'a', 'z'])).toEqual([{ 'b.c': 2, a: 1, z: null }]);
  });
});

describe(recordsOfUser.name, () => {
  it('keeps the records whose user_id equals it, as a number or its digits', () => {
    expect(recordsOfUser([{ user_id: 123 }, { user_id: '123' }, { user_id: 7 }, { name: 'x' }, { user_id: '0123' }], 123)).toEqual([{ user_id: 123 }, { user_id: '123' }]);
  });
});

describe(defaultExportName.name, () => {
  it.each([
    [undefined, 'csv', 'export-J.csv'],
    [123, 'csv', 'user-123-export-J.csv'],
    [0, 'ndjson', 'user-0-export-J.ndjson'],
  ] as const)('user %s, %s -> %s', (userId, format, name) => {
    expect(defaultExportName('J', format, userId)).toBe(name);
  });
});

describe('exports too large to build', () => {
  it('fail at once, not retried, past MAX_EXPORT_CELLS rows × columns (CSV, or any format with fields)', () => {
    const distinct = Array.from({ length: 5_000 }, (_, i) => ({ [`k${i}`]: 0 })); // 5,000 columns
    expect(() => renderRecords(distinct, 'csv')).toThrow(NonRetryableError);
    expect(() => renderRecords(distinct, 'csv')).toThrow(/5000 rows × 5000 columns is over 20,000,000 cells/);
    const wide = Array.from({ length: 25_000 }, () => ({}));
    expect(() => renderRecords(wide, 'json', { fields: Array.from({ length: 1_000 }, (_, i) => `f${i}`) })).toThrow(NonRetryableError);
    // JSON and NDJSON without fields write the records as they are: no table is built.
    expect(renderRecords(distinct, 'ndjson').content.split('\n')).toHaveLength(5_001);
    expect(MAX_EXPORT_CELLS).toBe(20_000_000);
  });
});
