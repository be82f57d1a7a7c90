/** `?status=a&status=b` and `?status=a,b` both become ['a', 'b']. */
export const toList = ({ value }: { value: unknown }) => {
  if (value === undefined) return undefined;
  const values = Array.isArray(value) ? value : [value];
  return values.flatMap((v) => String(v).split(',')).map((v) => v.trim()).filter((v) => v !== '');
};

/**
 * A repeatable, comma-separated parameter of free text, which may itself hold commas: each value as sent
 * and its comma-separated parts (`a,b` matches the keys `a`, `b` and `a,b`). An empty value is kept, for
 * the DTO to refuse.
 */
export const toListKeepingWhole = ({ value }: { value: unknown }) => {
  if (value === undefined) return undefined;
  const values = (Array.isArray(value) ? value : [value]).map((v) => String(v));
  return [...new Set(values.flatMap((v) => (v.includes(',') ? [v, ...v.split(',').map((p) => p.trim()).filter((p) => p !== '')] : [v])))];
};
