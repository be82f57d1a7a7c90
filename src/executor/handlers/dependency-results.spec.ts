import { describe, expect, it } from '@jest/globals';
import type { DependencyResult } from '../job-handler.decorator.js';
import { collectFiles, collectRecords, declaredColumnsOf, distinctDependencies, filesOf, orderColumns, recordListOf } from './dependency-results.js';

const dep = (id: string, result: unknown, type = 'noop', ref: string | null = null): DependencyResult => ({ id, ref, type, result });

describe(distinctDependencies.name, () => {
  it('gives each dependency once although the map holds it by id and by ref', () => {
    const a = dep('id-a', 1, 'noop', 'a');
    const b = dep('id-b', 2);
    expect(distinctDependencies(new Map([['id-a', a], ['a', a], ['id-b', b]]))).toEqual([a, b]);
  });
});

describe(recordListOf.name, () => {
  it.each([
    ['an array result', [{ x: 1 }], [{ x: 1 }]],
    ['records (data_processing)', { records: [{ x: 1 }], count: 1 }, [{ x: 1 }]],
    ['an array body (data_fetch)', { status: 200, body: [{ x: 1 }] }, [{ x: 1 }]],
    ['body.records', { body: { records: [{ x: 1 }] } }, [{ x: 1 }]],
    ['body.items', { body: { items: [{ x: 2 }] } }, [{ x: 2 }]],
    ['body.data', { body: { data: [{ x: 3 }] } }, [{ x: 3 }]],
    ['records before body', { records: [{ x: 1 }], body: [{ x: 2 }] }, [{ x: 1 }]],
    ['no list', { ok: true }, null],
    ['a text body', { body: 'hello' }, null],
    ['null', null, null],
  ])('reads %s', (_label, result, expected) => {
    expect(recordListOf(result)).toEqual(expected);
  });
});

describe(collectRecords.name, () => {
  it('takes a dependency of 200,000 records (a spread of them overflowed the call stack)', () => {
    expect(collectRecords([dep('a', { records: Array.from({ length: 200_000 }, () => ({})) })]).records).toHaveLength(200_000);
  });

  it('concatenates in dependency order and leaves out non-objects', () => {
    expect(collectRecords([dep('a', [{ n: 1 }, 'x']), dep('b', { ok: true }), dep('c', { records: [{ n: 2, m: 3 }, null] })])).toEqual({
      records: [{ n: 1 }, { n: 2, m: 3 }],
      columns: ['n', 'm'],
      fromIds: ['a', 'c'],
      skipped: 2,
    });
  });

  it('takes the column order a result declares, then the keys it did not declare', () => {
    expect(collectRecords([dep('a', { records: [{ id: 1, zeta: 2, x: 0 }], columns: ['zeta', 'id'] })]).columns).toEqual(['zeta', 'id', 'x']);
  });
});

describe(declaredColumnsOf.name, () => {
  it.each([
    [{ columns: ['b', 'a'] }, ['b', 'a']],
    [{ columns: ['b', 1] }, null],
    [{ columns: 'b' }, null],
    [['b'], null],
  ])('reads %j', (result, columns) => {
    expect(declaredColumnsOf(result)).toEqual(columns);
  });

  it('orders the declared columns first', () => {
    expect(orderColumns(['b', 'z'], [{ a: 1, b: 2 }, { c: 3 }])).toEqual(['b', 'z', 'a', 'c']);
  });
});

describe(filesOf.name, () => {
  it.each([
    [{ path: '/x/a.csv' }, ['/x/a.csv']],
    [{ paths: ['/x/a.md', '/x/a.html'] }, ['/x/a.md', '/x/a.html']],
    [{ path: '/x/a.md', paths: ['/x/a.md'], files: [{ path: '/x/b' }, { nope: 1 }] }, ['/x/a.md', '/x/b']],
    [{ path: 42, paths: 'nope' }, []],
    [[{ path: '/x' }], []],
  ])('reads %j', (result, expected) => {
    expect(filesOf(result)).toEqual(expected);
  });

  it('collects each file once, with the job that produced it', () => {
    expect(collectFiles([dep('e', { path: '/x/a.csv' }, 'data_export'), dep('r', { paths: ['/x/a.csv', '/x/r.md'] }, 'report_generation')])).toEqual([
      { path: '/x/a.csv', jobId: 'e', type: 'data_export' },
      { path: '/x/r.md', jobId: 'r', type: 'report_generation' },
    ]);
  });
});
