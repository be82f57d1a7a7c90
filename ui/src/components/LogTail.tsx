import { memo, useCallback, useEffect, useRef, useState } from 'react';
import { get, query } from '../api/http.js';
import type { JobLog, JobLogPage } from '../api/types.js';
import { useLiveBatches, useThrottled } from '../live/hooks.js';
import { mergeLogLines } from '../lib/log-lines.js';

const PAGE = 200;

/**
 * A job's logs, tailing: read page after page, then asked again from the last page read (its
 * cursor) whenever the job has news, every few seconds while it is unfinished, once more shortly after
 * it ends, and after a reconnect, keeping each line once, in id order (see mergeLogLines). Memoised:
 * its parent redraws every second.
 */
export const LogTail = memo(function LogTail({ jobId, active, epoch }: { jobId: string; active: boolean; epoch: number }) {
  const [lines, setLines] = useState<JobLog[]>([]);
  const [error, setError] = useState<string | null>(null);
  const cursor = useRef<string | null>(null);
  const busy = useRef(false);
  /** News arrived while a read was in flight: read once more after it (else the last lines could wait forever). */
  const again = useRef(false);
  const box = useRef<HTMLOListElement>(null);
  const follow = useRef(true);

  const read = useCallback(async (): Promise<void> => {
    if (busy.current) {
      again.current = true;
      return;
    }
    busy.current = true;
    again.current = false;
    try {
      for (let pages = 0; pages < 50; pages++) {
        const page = await get<JobLogPage>(`/jobs/${jobId}/logs${query({ cursor: cursor.current, limit: PAGE })}`);
        setLines((old) => mergeLogLines(old, page.items) as JobLog[]);
        if (!page.next_cursor) break;
        cursor.current = page.next_cursor;
      }
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      busy.current = false;
    }
    if (again.current) return read();
  }, [jobId]);

  const soon = useThrottled(() => void read(), 300);
  useEffect(() => {
    void read();
  }, [read, epoch]);
  useEffect(() => {
    if (!active) {
      // Lines the handler logged without waiting may commit just after the job ended: one more read.
      const last = setTimeout(() => void read(), 2_000);
      return () => clearTimeout(last);
    }
    const timer = setInterval(() => void read(), 3_000);
    return () => clearInterval(timer);
  }, [read, active]);
  useLiveBatches((batch) => {
    if (batch.some((u) => u.job_id === jobId && u.event !== 'job_progress')) soon();
  });
  useEffect(() => {
    const el = box.current;
    if (el && follow.current) el.scrollTop = el.scrollHeight;
  }, [lines]);

  return (
    <div>
      {error ? <p className="error-text">Could not read the logs: {error}</p> : null}
      {lines.length === 0 ? (
        <p className="muted">No log lines yet.</p>
      ) : (
        <ol
          className="logs"
          ref={box}
          tabIndex={0}
          aria-label="Log lines, oldest first"
          onScroll={(e) => {
            const el = e.currentTarget;
            follow.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
          }}
        >
          {lines.map((line) => (
            <li key={line.id} className={`log log-${line.level}`}>
              <time dateTime={line.timestamp}>{line.timestamp.slice(11, 23)}</time>
              <span className="log-level">{line.level}</span>
              <span className="log-attempt" title="attempt">
                #{line.attempt}
              </span>
              <span className="log-message">
                {line.message}
                {line.data && Object.keys(line.data).length > 0 ? (
                  <details className="log-data">
                    <summary>data</summary>
                    <code>{JSON.stringify(line.data, null, 1)}</code>
                  </details>
                ) : null}
              </span>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
});
