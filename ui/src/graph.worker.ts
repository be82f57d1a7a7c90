/**
 * Lays out a large dependency graph off the main thread: even a quick layout of a dense graph of a
 * thousand jobs is a long task, which would freeze the page (and its live updates) for as long.
 */
import { layoutGraph, type LayoutRequest } from './graph.js';

const scope = self as unknown as { onmessage: ((event: MessageEvent<LayoutRequest>) => void) | null; postMessage(message: unknown): void };

scope.onmessage = (event) => {
  const { graph, currentId } = event.data;
  scope.postMessage(layoutGraph(graph, currentId));
};
