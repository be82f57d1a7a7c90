import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { get } from '../api/http.js';
import { apiKey, onKeyChange } from '../api/key.js';
import type { Throughput } from '../api/types.js';
import { useConnection, useLiveBatches } from '../live/hooks.js';
import { clockOffset, summarize, ThroughputBuckets, WINDOW_SECONDS, type Series } from '../throughput.js';

const HEIGHT = 160;

function cssColour(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/** uPlot's options from the page's colours (read again when the system switches light/dark). */
function options(width: number): uPlot.Options {
  const muted = cssColour('--muted', '#5a5f6e');
  const grid = cssColour('--border', '#d9dbe3');
  const axis = { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font: '12px system-ui, sans-serif' };
  return {
    width,
    height: HEIGHT,
    legend: { show: false },
    cursor: { show: false },
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(5, Math.ceil(max * 1.1))] } },
    axes: [axis, { ...axis, size: 48 }],
    series: [
      {},
      { label: 'Completed', stroke: cssColour('--st-completed', '#166534'), width: 2, points: { show: false } },
      // Dashed: the two lines differ by more than colour.
      { label: 'Failed or timed out', stroke: cssColour('--st-failed', '#b42318'), width: 2, dash: [6, 4], points: { show: false } },
    ],
  };
}

/**
 * Jobs finished per second over the last five minutes: the service's history (`GET /stats/throughput`)
 * up to the second the chart opened, then the live events (counted per animation frame's batch, drawn
 * once a second). uPlot draws on a canvas, so the figures are also given in words.
 */
/** Asks the service for the window's history; `use` gets it with this clock's offset to the database's. Returns a canceller. */
function askHistory(use: (answer: Throughput, clockOffsetMs: number, nowMs: number) => void, failed: () => void): () => void {
  const sent = Date.now();
  let cancelled = false;
  get<Throughput>(`/stats/throughput?minutes=${WINDOW_SECONDS / 60}`).then(
    (answer) => {
      if (cancelled) return;
      const now = Date.now();
      use(answer, clockOffset(answer.now, sent, now), now);
    },
    () => !cancelled && failed(),
  );
  return () => {
    cancelled = true;
  };
}

export function ThroughputChart() {
  const buckets = useRef(new ThroughputBuckets(WINDOW_SECONDS));
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [figures, setFigures] = useState({ completed: 0, failed: 0, peak: 0, total: 0 });
  const [history, setHistory] = useState<'loading' | 'shown' | 'none'>('loading');

  useLiveBatches((batch) => buckets.current.add(batch, Date.now()));
  const redraw = (now: number) => {
    const series: Series = buckets.current.series(now);
    plot.current?.setData(series as uPlot.AlignedData);
    setFigures(summarize(series));
  };

  // The seconds the live feed was down hold none of their events: once it is back, they are read from the history.
  const { state, epoch } = useConnection();
  const offlineFrom = useRef<number | null>(null);
  useEffect(() => {
    if (state !== 'live' && offlineFrom.current === null && epoch > 0) offlineFrom.current = Math.floor(Date.now() / 1000);
  }, [state, epoch]);
  useEffect(() => {
    const from = offlineFrom.current;
    if (epoch <= 1 || from === null) return;
    offlineFrom.current = null;
    const back = Math.floor(Date.now() / 1000);
    return askHistory(
      (answer, offsetMs, now) => {
        buckets.current.refill(answer, from, back, offsetMs, now);
        redraw(now);
      },
      () => undefined, // the live figures stay as they are
    );
  }, [epoch]);

  // Live counting began at mount: the history fills the seconds before it, never the ones after.
  const liveFrom = useRef(Math.floor(Date.now() / 1000));
  // A history refused for want of a key is asked for again once a key is entered.
  const key = useSyncExternalStore(onKeyChange, apiKey);

  useEffect(() => {
    if (history === 'shown') return;
    return askHistory(
      (answer, offsetMs, now) => {
        buckets.current.seed(answer, liveFrom.current, offsetMs, now);
        redraw(now);
        setHistory('shown');
      },
      // A service without the endpoint (or a refused key, until another is entered) leaves the chart to the live events.
      () => setHistory('none'),
    );
    // Once shown, the history is not asked for again: only a new key reruns this.
  }, [key]);

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const create = () => {
      plot.current?.destroy();
      plot.current = new uPlot(options(element.clientWidth || 600), buckets.current.series(Date.now()) as uPlot.AlignedData, element);
    };
    create();
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: element.clientWidth, height: HEIGHT }));
    resize.observe(element);
    const scheme = window.matchMedia('(prefers-color-scheme: dark)');
    scheme.addEventListener('change', create);
    const tick = setInterval(() => redraw(Date.now()), 1_000);
    return () => {
      clearInterval(tick);
      scheme.removeEventListener('change', create);
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);

  const words = `Jobs finished per second over the last ${WINDOW_SECONDS / 60} minutes: in the last second ${figures.completed} completed and ${figures.failed} failed or timed out; peak ${figures.peak} a second; ${figures.total} in all.`;
  return (
    <figure className="card throughput" aria-labelledby="throughput-caption">
      <figcaption id="throughput-caption">
        <ul className="throughput-legend">
          <li>
            <svg width="24" height="8" aria-hidden="true">
              <line x1="0" y1="4" x2="24" y2="4" stroke="var(--st-completed)" strokeWidth="2" />
            </svg>
            Completed: <strong data-testid="throughput-completed">{figures.completed}</strong>/s
          </li>
          <li>
            <svg width="24" height="8" aria-hidden="true">
              <line x1="0" y1="4" x2="24" y2="4" stroke="var(--st-failed)" strokeWidth="2" strokeDasharray="6 4" />
            </svg>
            Failed or timed out: <strong>{figures.failed}</strong>/s
          </li>
          <li className="muted" data-testid="throughput-span" data-history={history} aria-busy={history === 'loading'}>
            Peak: {figures.peak}/s · <span data-testid="throughput-total">{figures.total}</span> in the {history === 'none' ? `time since this page opened (up to ${WINDOW_SECONDS / 60} min)` : `last ${WINDOW_SECONDS / 60} min`}
          </li>
        </ul>
      </figcaption>
      <div ref={box} className="throughput-plot" role="img" aria-label={words} />
    </figure>
  );
}
