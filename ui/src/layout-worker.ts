/**
 * The graph layout worker, started ahead: a job page starts one as soon as it learns that its job has
 * dependencies or dependents, so the worker's script is fetched and compiled while the graph itself is
 * still being fetched, and the layout starts the moment it arrives. At most one waits unused (a small
 * graph is laid out on the page and leaves it for the next large one).
 */
let spare: Worker | null = null;

const start = () => new Worker(new URL('./graph.worker.ts', import.meta.url), { type: 'module' });

export function prewarmLayoutWorker(): void {
  if (!spare && typeof Worker !== 'undefined') spare = start();
}

/** The worker started ahead, or a new one. The caller terminates it when done. */
export function takeLayoutWorker(): Worker {
  const worker = spare ?? start();
  spare = null;
  return worker;
}
