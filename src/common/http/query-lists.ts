/** `?status=a&status=b` and `?status=a,b` both become ['a', 'b']. */
export const toList = ({ value }: { value: unknown }) => {
  if (value === undefined) return undefined;
  const values = Array.isArray(value) ? value : [value];
  return values.flatMap((v) => String(v).split(',')).map((v) => v.trim()).filter((v) => v !== '');
};
