/** One drill's counts: jobs submitted (acknowledged), completed, lost (never terminal) and overlapping (two runs at once). */
export interface DrillRow {
  drill: string;
  submitted: number;
  completed: number;
  lost: number;
  overlapping: number;
  /** Probe requests over the drill (runs seen by the outside world, retries included). */
  requests: number;
  seconds: number;
}

/** The drill table as Markdown, the same shape as docs/faults.md's. */
export function drillTable(rows: readonly DrillRow[]): string {
  const lines = [
    '| drill | submitted | completed | lost | overlapping | probe requests | seconds |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.drill} | ${r.submitted} | ${r.completed} | ${r.lost} | ${r.overlapping} | ${r.requests} | ${r.seconds.toFixed(1)} |`),
  ];
  return lines.join('\n');
}
