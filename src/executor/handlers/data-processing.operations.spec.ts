import { describe, expect, it } from '@jest/globals';
import { aggregateName, applyOperation, applyOperations, compareValues, describeOperationProblems, getField, MAX_AGGREGATES, MAX_FIELDS, MAX_GROUP_KEYS, MAX_IN_VALUES, type Operation } from './data-processing.operations.js';

const people = [
  { name: 'ada', team: 'core', age: 36, tags: ['math', 'engines'], address: { city: 'London' } },
  { name: 'grace', team: 'navy', age: 45, tags: ['cobol'], address: { city: 'Arlington' } },
  { name: 'linus', team: 'core', age: 28, tags: [], address: null },
  { name: 'ken', team: 'core', age: null, tags: ['unix'] },
];
const names = (rows: Array<Record<string, unknown>>) => rows.map((r) => r.name);

describe(describeOperationProblems.name, () => {
  it.each([
    [[{ op: 'filter', field: 'a', operator: 'eq', value: 1 }]],
    [[{ op: 'filter', field: 'a', operator: 'exists' }]],
    [[{ op: 'filter', field: 'a', operator: 'exists', value: false }]],
    [[{ op: 'filter', field: 'a', operator: 'in', value: [1, 2] }]],
    [[{ op: 'filter', field: 'd', operator: 'gte', value: '2024-01-01' }]],
    [[{ op: 'select', fields: ['a', 'b.c'] }]],
    [[{ op: 'sort', by: 'a', order: 'desc' }]],
    [[{ op: 'group_by', by: ['a', 'b'], aggregates: [{ fn: 'count' }, { fn: 'avg', field: 'x', as: 'mean' }] }]],
    [[{ op: 'limit', count: 0 }]],
  ])('accepts %j', (operations) => {
    expect(describeOperationProblems(operations)).toEqual([]);
  });

  it.each([
    ['not an array', {}, /operations must be an array/],
    ['unknown op', [{ op: 'explode' }], /operations\[0\].op must be one of/],
    ['unknown operator', [{ op: 'filter', field: 'a', operator: 'like', value: 1 }], /unknown operator "like"/],
    ['in without array', [{ op: 'filter', field: 'a', operator: 'in', value: 1 }], /array value for in\/nin/],
    ['missing value', [{ op: 'filter', field: 'a', operator: 'eq' }], /needs a value/],
    ['non-boolean exists', [{ op: 'filter', field: 'a', operator: 'exists', value: 'yes' }], /boolean value/],
    ['object for gt', [{ op: 'filter', field: 'a', operator: 'gt', value: {} }], /number or string value for gt/],
    ['object for contains', [{ op: 'filter', field: 'a', operator: 'contains', value: [1] }], /scalar value for contains/],
    ['empty select', [{ op: 'select', fields: [] }], /non-empty list/],
    ['bad order', [{ op: 'sort', by: 'a', order: 'up' }], /asc or desc/],
    ['sum without field', [{ op: 'group_by', by: 'a', aggregates: [{ fn: 'sum' }] }], /needs a field/],
    ['negative limit', [{ op: 'limit', count: -1 }], /integer >= 0/],
    ['extra key', [{ op: 'limit', count: 1, offset: 2 }], /unknown fields offset/],
  ])('refuses %s', (_label, operations, message) => {
    expect(describeOperationProblems(operations).join('; ')).toMatch(message);
  });
});

describe(getField.name, () => {
  it.each([
    [{ a: 1 }, 'a', 1],
    [{ a: { b: { c: 2 } } }, 'a.b.c', 2],
    [{ 'a.b': 3, a: { b: 4 } }, 'a.b', 3],
    [{ a: null }, 'a.b', undefined],
    [{}, 'x', undefined],
  ])('reads %j at %s', (record, path, value) => {
    expect(getField(record, path)).toEqual(value);
  });
});

describe(compareValues.name, () => {
  it('orders numbers, then strings, then booleans, then the rest', () => {
    expect([true, 'b', 2, { x: 1 }, 'a', 1].sort(compareValues)).toEqual([1, 2, 'a', 'b', true, { x: 1 }]);
  });
});

describe(applyOperation.name, () => {
  it.each<[string, Operation, string[]]>([
    ['eq', { op: 'filter', field: 'team', operator: 'eq', value: 'core' }, ['ada', 'linus', 'ken']],
    ['ne', { op: 'filter', field: 'team', operator: 'ne', value: 'core' }, ['grace']],
    ['gt (null never compares)', { op: 'filter', field: 'age', operator: 'gt', value: 30 }, ['ada', 'grace']],
    ['gte', { op: 'filter', field: 'age', operator: 'gte', value: 36 }, ['ada', 'grace']],
    ['lt', { op: 'filter', field: 'age', operator: 'lt', value: 36 }, ['linus']],
    ['lte', { op: 'filter', field: 'age', operator: 'lte', value: 36 }, ['ada', 'linus']],
    ['gt across types is false', { op: 'filter', field: 'age', operator: 'gt', value: '1' }, []],
    ['string ordering', { op: 'filter', field: 'name', operator: 'lt', value: 'h' }, ['ada', 'grace']],
    ['in', { op: 'filter', field: 'name', operator: 'in', value: ['ada', 'ken'] }, ['ada', 'ken']],
    ['nin', { op: 'filter', field: 'name', operator: 'nin', value: ['ada', 'ken'] }, ['grace', 'linus']],
    ['contains on a string', { op: 'filter', field: 'name', operator: 'contains', value: 'a' }, ['ada', 'grace']],
    ['contains on an array', { op: 'filter', field: 'tags', operator: 'contains', value: 'unix' }, ['ken']],
    ['exists', { op: 'filter', field: 'age', operator: 'exists' }, ['ada', 'grace', 'linus']],
    ['exists false', { op: 'filter', field: 'age', operator: 'exists', value: false }, ['ken']],
    ['a dotted path', { op: 'filter', field: 'address.city', operator: 'eq', value: 'London' }, ['ada']],
    ['sort asc, missing last', { op: 'sort', by: 'age' }, ['linus', 'ada', 'grace', 'ken']],
    ['sort desc, missing still last', { op: 'sort', by: 'age', order: 'desc' }, ['grace', 'ada', 'linus', 'ken']],
    ['limit', { op: 'limit', count: 2 }, ['ada', 'grace']],
  ])('%s', (_label, operation, expected) => {
    expect(names(applyOperation(people, operation))).toEqual(expected);
  });

  it('select keeps the fields named, by their paths, and drops missing ones', () => {
    expect(applyOperation(people.slice(0, 2), { op: 'select', fields: ['name', 'address.city', 'nope'] })).toEqual([
      { name: 'ada', 'address.city': 'London' },
      { name: 'grace', 'address.city': 'Arlington' },
    ]);
  });

  it('group_by aggregates each group, in order of first appearance', () => {
    const grouped = applyOperation(people, {
      op: 'group_by',
      by: 'team',
      aggregates: [{ fn: 'count' }, { fn: 'count', field: 'age' }, { fn: 'sum', field: 'age' }, { fn: 'avg', field: 'age', as: 'mean_age' }, { fn: 'min', field: 'name' }, { fn: 'max', field: 'age' }],
    });
    expect(grouped).toEqual([
      { team: 'core', count: 3, count_age: 2, sum_age: 64, mean_age: 32, min_name: 'ada', max_age: 36 },
      { team: 'navy', count: 1, count_age: 1, sum_age: 45, mean_age: 45, min_name: 'grace', max_age: 45 },
    ]);
  });

  it('group_by over several fields, with null for missing keys and aggregates of nothing', () => {
    expect(applyOperation([{ a: 1 }, { a: 1, b: 'x' }], { op: 'group_by', by: ['a', 'b'], aggregates: [{ fn: 'avg', field: 'v' }, { fn: 'min', field: 'v' }, { fn: 'sum', field: 'v' }] })).toEqual([
      { a: 1, b: null, avg_v: null, min_v: null, sum_v: 0 },
      { a: 1, b: 'x', avg_v: null, min_v: null, sum_v: 0 },
    ]);
  });
});

describe(applyOperations.name, () => {
  it('runs the operations in order and counts the rows after each', () => {
    const { records, steps } = applyOperations(people, [
      { op: 'filter', field: 'team', operator: 'eq', value: 'core' },
      { op: 'sort', by: 'name', order: 'desc' },
      { op: 'limit', count: 2 },
      { op: 'select', fields: ['name'] },
    ]);
    expect(records).toEqual([{ name: 'linus' }, { name: 'ken' }]);
    expect(steps).toEqual([{ op: 'filter', rows: 3 }, { op: 'sort', rows: 3 }, { op: 'limit', rows: 2 }, { op: 'select', rows: 2 }]);
  });

  it('names aggregates by as, else fn and field', () => {
    expect([aggregateName({ fn: 'count' }), aggregateName({ fn: 'sum', field: 'x' }), aggregateName({ fn: 'max', field: 'x', as: 'top' })]).toEqual(['count', 'sum_x', 'top']);
  });
});

describe('in and nin over long lists', () => {
  it('look each record up once (a Set), with isDeepStrictEqual\'s meaning of equal', () => {
    const records = Array.from({ length: 50_000 }, (_, i) => ({ a: i }));
    const value = Array.from({ length: MAX_IN_VALUES }, (_, i) => i * 5);
    const started = performance.now();
    const kept = applyOperation(records, { op: 'filter', field: 'a', operator: 'in', value });
    expect(kept).toHaveLength(MAX_IN_VALUES);
    expect(performance.now() - started).toBeLessThan(5_000); // records × values comparisons took minutes
    const odd = [{ a: 0 }, { a: -0 }, { a: Number.NaN }, { a: { b: 1 } }, { a: '1' }, { a: null }];
    const matched = (list: unknown[]) => applyOperation(odd, { op: 'filter', field: 'a', operator: 'in', value: list }).map((r) => r.a);
    expect(matched([0])).toEqual([0]);
    expect(matched([-0])).toEqual([-0]);
    expect(matched([Number.NaN, { b: 1 }, null])).toEqual([Number.NaN, { b: 1 }, null]);
    expect(matched([1])).toEqual([]);
  });

  it('look object values up once too (their canonical JSON), whatever their keys\' order', () => {
    const records = Array.from({ length: 20_000 }, (_, i) => ({ a: { k: i % 7_000, tag: ['x', i % 2] } }));
    const value = Array.from({ length: 5_000 }, (_, i) => ({ tag: ['x', i % 2], k: i }));
    const started = performance.now();
    const kept = applyOperation(records, { op: 'filter', field: 'a', operator: 'in', value });
    expect(performance.now() - started).toBeLessThan(5_000); // records × values deep comparisons took minutes
    expect(kept.length).toBe(records.filter((r) => r.a.k < 5_000 && r.a.tag[1] === r.a.k % 2).length);
    const nested = [{ a: { b: [1, 2] } }, { a: { b: [2, 1] } }, { a: [{ c: 1, d: 2 }] }];
    const matched = (list: unknown[]) => applyOperation(nested, { op: 'filter', field: 'a', operator: 'in', value: list }).map((r) => r.a);
    expect(matched([{ b: [1, 2] }])).toEqual([{ b: [1, 2] }]); // arrays keep their order
    expect(matched([[{ d: 2, c: 1 }]])).toEqual([[{ c: 1, d: 2 }]]); // objects do not
    expect(applyOperation(nested, { op: 'filter', field: 'a', operator: 'nin', value: [{ b: [2, 1] }] })).toHaveLength(2);
  });

  it(`refuse a list of more than ${MAX_IN_VALUES} values`, () => {
    const problems = describeOperationProblems([{ op: 'filter', field: 'a', operator: 'in', value: Array.from({ length: MAX_IN_VALUES + 1 }, () => 1) }]);
    expect(problems.join(' ')).toMatch(/more than 10000/);
  });
});

describe('bounds of one operation', () => {
  it('refuse select, group_by keys and aggregates past their bounds, which would multiply the data on the worker', () => {
    const fields = (n: number) => Array.from({ length: n }, (_, i) => `f${i}`);
    expect(describeOperationProblems([{ op: 'select', fields: fields(MAX_FIELDS) }])).toEqual([]);
    expect(describeOperationProblems([{ op: 'select', fields: fields(MAX_FIELDS + 1) }]).join(' ')).toMatch(/at most 1000/);
    expect(describeOperationProblems([{ op: 'group_by', by: fields(MAX_GROUP_KEYS + 1), aggregates: [] }]).join(' ')).toMatch(/at most 32/);
    const aggregates = (n: number) => Array.from({ length: n }, (_, i) => ({ fn: 'count', as: `c${i}` }));
    expect(describeOperationProblems([{ op: 'group_by', by: 'g', aggregates: aggregates(MAX_AGGREGATES) }])).toEqual([]);
    expect(describeOperationProblems([{ op: 'group_by', by: 'g', aggregates: aggregates(MAX_AGGREGATES + 1) }]).join(' ')).toMatch(/at most 100/);
  });

  it('keep a field named __proto__ as a field', () => {
    const record = JSON.parse('{"__proto__": {"a": 1}, "g": 1}') as Record<string, unknown>;
    const selected = applyOperation([record], { op: 'select', fields: ['__proto__'] })[0]!;
    expect(Object.keys(selected)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(selected)).toBe(Object.prototype);
    const grouped = applyOperation([record], { op: 'group_by', by: 'g', aggregates: [{ fn: 'count', as: '__proto__' }] })[0]!;
    expect(Object.keys(grouped)).toEqual(['g', '__proto__']);
  });
});
