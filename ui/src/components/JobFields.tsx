import type { ReactNode } from 'react';
import { Link } from '../router.js';
import { relativeTime } from '../status.js';
import { JsonView } from './JsonView.js';

/** The pieces of the job page's fields card: an instant, a list of job links, a field, any other value. */

export function Time({ iso, now }: { iso: string | null | undefined; now: number }) {
  if (!iso) return <span className="muted">—</span>;
  return (
    <time dateTime={iso} title={iso}>
      {iso.replace('T', ' ').replace('Z', ' UTC')} <span className="muted">({relativeTime(iso, now)})</span>
    </time>
  );
}

export function JobLinks({ ids }: { ids: string[] }) {
  if (ids.length === 0) return <span className="muted">none</span>;
  return (
    <ul className="chips">
      {ids.map((id) => (
        <li key={id}>
          <Link to={`/jobs/${id}`} className="mono">
            {id}
          </Link>
        </li>
      ))}
    </ul>
  );
}

export function Field({ name, children }: { name: string; children: ReactNode }) {
  return (
    <>
      <dt>{name}</dt>
      <dd>{children}</dd>
    </>
  );
}

export function other(value: unknown): ReactNode {
  if (value === null || value === undefined) return <span className="muted">—</span>;
  if (typeof value === 'object') return <JsonView value={value} label="value" />;
  return String(value);
}
