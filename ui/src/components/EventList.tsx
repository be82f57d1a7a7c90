import { memo } from 'react';
import type { JobUpdate } from '../api/types.js';
import { humanize } from '../status.js';

/** How many of a job's events are drawn: a job with 100,000 progress events would otherwise be 100,000 list items. */
export const EVENTS_SHOWN = 1_000;

/**
 * A job's events, oldest first, the last EVENTS_SHOWN of them. Memoised: the job's page redraws every
 * second for its relative times, and the list changes only when events arrive.
 */
export const EventList = memo(function EventList({ events, note }: { events: readonly JobUpdate[]; note: string | null }) {
  const shown = events.length > EVENTS_SHOWN ? events.slice(-EVENTS_SHOWN) : events;
  return (
    <>
      {note ? (
        <p className="error-text small" role="status" data-testid="events-missed">
          {note}
        </p>
      ) : null}
      {events.length === 0 ? (
        <p className="muted">No events yet.</p>
      ) : (
        <>
          {shown[0]!.data.sequence > 1 ? (
            <p className="muted small" data-testid="events-capped">
              The last {shown.length.toLocaleString()} of {shown[shown.length - 1]!.data.sequence.toLocaleString()} events are listed.
            </p>
          ) : null}
          <ol className="events" aria-label="Events, oldest first">
            {shown.map((e) => (
              <li key={e.data.sequence}>
                <time dateTime={e.data.timestamp}>{String(e.data.timestamp).slice(11, 23)}</time> <span className="mono small">#{e.data.sequence}</span>{' '}
                {humanize(e.event.replace(/^job_/, ''))}
                {e.event === 'job_progress' && typeof e.data.progress === 'number' ? ` ${e.data.progress}%` : ''}
                {e.data.attempt ? <span className="muted"> (attempt {e.data.attempt})</span> : null}
              </li>
            ))}
          </ol>
        </>
      )}
    </>
  );
});
