/**
 * `?status=a&status=b` and `?status=a,b` both become ['a', 'b'] (an empty part, `a,`, is left out). A
 * parameter sent with nothing in it (`?status=`) stays [''], for the DTO to refuse: read as no filter,
 * a client that builds `?type=${t}` with an empty `t` would silently list everything.
 */
export const toList = ({ value }: { value: unknown }) => {
  if (value === undefined) return undefined;
  const values = Array.isArray(value) ? value : [value];
  const list = values.flatMap((v) => String(v).split(',')).map((v) => v.trim()).filter((v) => v !== '');
  return list.length > 0 ? list : [''];
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
