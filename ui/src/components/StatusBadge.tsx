import { statusLook, type StatusShape } from '../status.js';

/** The glyph of a status: a shape, so a status reads without its colour. */
export function StatusIcon({ shape, size = 12 }: { shape: StatusShape; size?: number }) {
  const common = { width: size, height: size, viewBox: '0 0 12 12', 'aria-hidden': true, focusable: false } as const;
  switch (shape) {
    case 'circle':
      return <svg {...common}><circle cx="6" cy="6" r="4.25" fill="none" stroke="currentColor" strokeWidth="1.5" /></svg>;
    case 'square':
      return <svg {...common}><rect x="2" y="2" width="8" height="8" fill="none" stroke="currentColor" strokeWidth="1.5" /></svg>;
    case 'ring':
      return <svg {...common}><circle cx="6" cy="6" r="4.25" fill="none" stroke="currentColor" strokeWidth="1.5" /><circle cx="6" cy="6" r="1.75" fill="currentColor" /></svg>;
    case 'play':
      return <svg {...common}><path d="M3 1.5 10.5 6 3 10.5z" fill="currentColor" /></svg>;
    case 'check':
      return <svg {...common}><path d="M1.75 6.25 4.75 9.25 10.25 2.75" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" /></svg>;
    case 'cross':
      return <svg {...common}><path d="M2.5 2.5 9.5 9.5M9.5 2.5 2.5 9.5" stroke="currentColor" strokeWidth="2" strokeLinecap="round" /></svg>;
    case 'hourglass':
      return <svg {...common}><path d="M2.5 1.5h7L6 6l3.5 4.5h-7L6 6z" fill="none" stroke="currentColor" strokeWidth="1.4" strokeLinejoin="round" /></svg>;
    case 'slash':
      return <svg {...common}><circle cx="6" cy="6" r="4.25" fill="none" stroke="currentColor" strokeWidth="1.5" /><path d="M3 9 9 3" stroke="currentColor" strokeWidth="1.5" /></svg>;
  }
}

/** A status: colour, shape and word together. */
export function StatusBadge({ status }: { status: string }) {
  const look = statusLook(status);
  return (
    <span className={`status status-${status}`} title={look.description} data-status={status}>
      <StatusIcon shape={look.shape} />
      <span>{look.label}</span>
    </span>
  );
}
