import { memo } from 'react';

/** A JSON value as a tree whose objects and arrays fold (the top levels open). */
function Entry({ name, value, depth }: { name: string | null; value: unknown; depth: number }) {
  const label = name === null ? null : <span className="json-key">{name}: </span>;
  if (value === null || typeof value !== 'object') {
    const kind = value === null ? 'null' : typeof value;
    return (
      <div className="json-row">
        {label}
        <span className={`json-${kind}`}>{JSON.stringify(value)}</span>
      </div>
    );
  }
  const entries: Array<[string, unknown]> = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
  const summary = Array.isArray(value) ? `[${entries.length} item${entries.length === 1 ? '' : 's'}]` : `{${entries.length} field${entries.length === 1 ? '' : 's'}}`;
  if (entries.length === 0) {
    return (
      <div className="json-row">
        {label}
        <span className="muted">{Array.isArray(value) ? '[]' : '{}'}</span>
      </div>
    );
  }
  return (
    <details className="json-node" open={depth < 2}>
      <summary>
        {label}
        <span className="muted">{summary}</span>
      </summary>
      <div className="json-children">
        {entries.slice(0, 500).map(([k, v]) => (
          <Entry key={k} name={k} value={v} depth={depth + 1} />
        ))}
        {entries.length > 500 ? <div className="muted">… {entries.length - 500} more</div> : null}
      </div>
    </details>
  );
}

/** Memoised: the job's page redraws every second, and the same value need not be walked again. */
export const JsonView = memo(function JsonView({ value, label }: { value: unknown; label: string }) {
  return (
    <div className="json" aria-label={label} role="group">
      <Entry name={null} value={value} depth={0} />
    </div>
  );
});
