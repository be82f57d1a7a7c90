/** The operations of data_processing and their validation. Pure: no I/O. */
export const FILTER_OPERATORS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'nin', 'contains', 'exists'] as const;
export const AGGREGATE_FNS = ['count', 'sum', 'avg', 'min', 'max'] as const;

export type Operation =
  | { op: 'filter'; field: string; operator: (typeof FILTER_OPERATORS)[number]; value?: unknown }
  | { op: 'select'; fields: string[] }
  | { op: 'sort'; by: string; order?: 'asc' | 'desc' }
  | { op: 'group_by'; by: string | string[]; aggregates: Array<{ fn: (typeof AGGREGATE_FNS)[number]; field?: string; as?: string }> }
  | { op: 'limit'; count: number };

const SHAPES: Record<string, string> = {
  filter: `{op: "filter", field, operator: ${FILTER_OPERATORS.join('|')}, value}`,
  select: '{op: "select", fields: [..]}',
  sort: '{op: "sort", by, order?: asc|desc}',
  group_by: `{op: "group_by", by: field or [fields], aggregates: [{fn: ${AGGREGATE_FNS.join('|')}, field?, as?}]}`,
  limit: '{op: "limit", count}',
};

const isField = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 200;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function extraKeys(op: Record<string, unknown>, allowed: string[]): string[] {
  return Object.keys(op).filter((k) => !allowed.includes(k));
}

/** Every problem of an operation list, as messages naming the operation's index; empty when valid. */
export function describeOperationProblems(value: unknown): string[] {
  if (!Array.isArray(value)) return ['operations must be an array'];
  const problems: string[] = [];
  value.forEach((raw, i) => {
    const at = `operations[${i}]`;
    if (!isObject(raw)) return problems.push(`${at} must be an object`);
    const op = raw.op;
    if (typeof op !== 'string' || !(op in SHAPES)) {
      return problems.push(`${at}.op must be one of: ${Object.keys(SHAPES).join(', ')}`);
    }
    const bad = (what: string) => problems.push(`${at} (${op}) ${what}; expected ${SHAPES[op]}`);
    switch (op) {
      case 'filter': {
        if (!isField(raw.field)) bad('needs a field name');
        if (!FILTER_OPERATORS.includes(raw.operator as never)) bad(`has an unknown operator ${JSON.stringify(raw.operator)}`);
        if ((raw.operator === 'in' || raw.operator === 'nin') && !Array.isArray(raw.value)) bad('needs an array value for in/nin');
        if (raw.operator !== 'exists' && !('value' in raw)) bad('needs a value');
        const extra = extraKeys(raw, ['op', 'field', 'operator', 'value']);
        if (extra.length) bad(`has unknown fields ${extra.join(', ')}`);
        break;
      }
      case 'select': {
        if (!Array.isArray(raw.fields) || raw.fields.length === 0 || !raw.fields.every(isField)) bad('needs a non-empty list of field names');
        const extra = extraKeys(raw, ['op', 'fields']);
        if (extra.length) bad(`has unknown fields ${extra.join(', ')}`);
        break;
      }
      case 'sort': {
        if (!isField(raw.by)) bad('needs a field name in by');
        if (raw.order !== undefined && raw.order !== 'asc' && raw.order !== 'desc') bad('has an order other than asc or desc');
        const extra = extraKeys(raw, ['op', 'by', 'order']);
        if (extra.length) bad(`has unknown fields ${extra.join(', ')}`);
        break;
      }
      case 'group_by': {
        const by = Array.isArray(raw.by) ? raw.by : [raw.by];
        if (by.length === 0 || !by.every(isField)) bad('needs a field name (or a list of them) in by');
        if (!Array.isArray(raw.aggregates)) bad('needs a list of aggregates');
        else
          raw.aggregates.forEach((agg: unknown, j: number) => {
            if (!isObject(agg) || !AGGREGATE_FNS.includes(agg.fn as never)) return bad(`aggregates[${j}] needs fn`);
            if (agg.fn !== 'count' && !isField(agg.field)) bad(`aggregates[${j}] (${String(agg.fn)}) needs a field`);
            if (agg.as !== undefined && !isField(agg.as)) bad(`aggregates[${j}].as must be a field name`);
            const extra = extraKeys(agg, ['fn', 'field', 'as']);
            if (extra.length) bad(`aggregates[${j}] has unknown fields ${extra.join(', ')}`);
          });
        const extra = extraKeys(raw, ['op', 'by', 'aggregates']);
        if (extra.length) bad(`has unknown fields ${extra.join(', ')}`);
        break;
      }
      case 'limit': {
        if (!Number.isInteger(raw.count) || (raw.count as number) < 0) bad('needs a count (integer >= 0)');
        const extra = extraKeys(raw, ['op', 'count']);
        if (extra.length) bad(`has unknown fields ${extra.join(', ')}`);
        break;
      }
    }
    return undefined;
  });
  return problems;
}
