import { memo, useState } from 'react';

/** The most entries of one object or array drawn; the rest are counted. */
const ENTRIES_SHOWN = 500;
/** Children of a node open by default only when it has at most this many (the root's children, one level down). */
const OPEN_CHILDREN_UP_TO = 20;

/**
 * A JSON value as a tree whose objects and arrays fold. The root is open, and its children too when it
 * has few. A folded node's children are not drawn until it is opened: a 500 KB payload of nested arrays
 * would otherwise be hundreds of thousands of rows, closed or not, and hang the page.
 */
function Entry({ name, value, open: openAtFirst }: { name: string | null; value: unknown; open: boolean }) {
  const [open, setOpen] = useState(openAtFirst);
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
    <details className="json-node" open={open} onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>
        {label}
        <span className="muted">{summary}</span>
      </summary>
      {open ? (
        <div className="json-children">
          {entries.slice(0, ENTRIES_SHOWN).map(([k, v]) => (
            <Entry key={k} name={k} value={v} open={name === null && entries.length <= OPEN_CHILDREN_UP_TO} />
          ))}
          {entries.length > ENTRIES_SHOWN ? <div className="muted">… {entries.length - ENTRIES_SHOWN} more</div> : null}
        </div>
      ) : null}
    </details>
  );
}

/** Memoised: the job's page redraws every second, and the same value need not be walked again. */
export const JsonView = memo(function JsonView({ value, label }: { value: unknown; label: string }) {
  return (
    <div className="json" aria-label={label} role="group">
      <Entry name={null} value={value} open />
    </div>
  );
});
