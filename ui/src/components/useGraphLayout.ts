import { useEffect, useMemo, useState } from 'react';
import type { JobGraph } from '../api/types.js';
import { LARGE_GRAPH, layoutGraph, type LayoutRequest } from '../graph.js';
import { takeLayoutWorker } from '../layout-worker.js';

type Layout = ReturnType<typeof layoutGraph>;

/**
 * A graph's layout: computed at once for a small graph, in a worker for a large one (null until it
 * answers), so the page stays responsive while the layout works.
 */
export function useGraphLayout(graph: JobGraph, currentId: string): Layout | null {
  const large = graph.nodes.length > LARGE_GRAPH;
  const small = useMemo(() => (large ? null : layoutGraph(graph, currentId)), [graph, currentId, large]);
  const [fromWorker, setFromWorker] = useState<{ graph: JobGraph; layout: Layout } | null>(null);
  useEffect(() => {
    if (!large) return;
    const started = performance.now();
    const worker = takeLayoutWorker();
    worker.onmessage = (event: MessageEvent<Layout>) => {
      // A user timing (shown in the browser's performance tools; the dashboard bench reads it): the worker's start and layout.
      performance.measure('graph layout', { start: started, detail: { jobs: graph.nodes.length } });
      setFromWorker({ graph, layout: event.data });
      worker.terminate();
    };
    worker.onerror = () => {
      // A browser that cannot start the worker still gets the graph, at the cost of a busy moment.
      setFromWorker({ graph, layout: layoutGraph(graph, currentId) });
      worker.terminate();
    };
    worker.postMessage({ graph: { nodes: graph.nodes, edges: graph.edges }, currentId } satisfies LayoutRequest);
    return () => worker.terminate();
  }, [graph, currentId, large]);
  if (!large) return small;
  // The layout of an earlier graph of the same jobs is kept while a new one is computed (positions only).
  return fromWorker && fromWorker.graph.nodes.length === graph.nodes.length ? fromWorker.layout : null;
}
