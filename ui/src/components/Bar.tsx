import { share } from '../status.js';

/** A capacity bar: how much of a worker's room is booked, with the figures in words. */
export function Bar({ label, used, capacity, unit = '' }: { label: string; used: number; capacity: number; unit?: string }) {
  const fraction = share(used, capacity);
  const level = fraction >= 0.9 ? 'high' : fraction >= 0.6 ? 'mid' : 'low';
  const text = `${used}${unit} of ${capacity}${unit}`;
  return (
    <div className="bar">
      <div className="bar-head">
        <span>{label}</span>
        <span className="muted">{text}</span>
      </div>
      <div
        className={`bar-track bar-${level}`}
        role="meter"
        aria-label={`${label} in use`}
        aria-valuemin={0}
        aria-valuemax={capacity}
        aria-valuenow={used}
        aria-valuetext={text}
      >
        <div className="bar-fill" style={{ width: `${Math.round(fraction * 1000) / 10}%` }} />
      </div>
    </div>
  );
}
