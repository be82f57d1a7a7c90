/**
 * Lays out a job's dependency graph (GET /jobs/{id}/graph) for drawing: a layered layout from
 * dagre, dependencies left of their dependents. Pure: the nodes it returns are what React Flow
 * draws, positioned.
 */
import dagre from '@dagrejs/dagre';
import type { JobGraph } from './api/types.js';

export const NODE_WIDTH = 190;
export const NODE_HEIGHT = 58;

export interface GraphNodeData {
  [key: string]: unknown;
  id: string;
  label: string;
  type: string;
  status: string;
  current: boolean;
}

export interface LaidOutNode {
  id: string;
  type: 'job';
  position: { x: number; y: number };
  data: GraphNodeData;
  width: number;
  height: number;
}

export interface LaidOutEdge {
  id: string;
  source: string;
  target: string;
}

/** The label of a node: its batch ref, else its type and the start of its id. */
export function nodeLabel(node: { id: string; ref: string | null; type: string }): string {
  return node.ref ?? `${node.type} ${node.id.slice(-6)}`;
}

/**
 * From this many jobs on, the layout trades tidiness for time: dagre's default ranking (network
 * simplex, fewest long edges) took minutes for a 1,000-job DAG in a browser; longest-path ranking
 * without the extra ordering passes takes seconds. Below it the tidier default costs well under a second.
 */
export const LARGE_GRAPH = 200;

/** What the layout worker is sent. */
export interface LayoutRequest {
  graph: Pick<JobGraph, 'nodes' | 'edges'>;
  currentId: string;
}

export function layoutGraph(graph: Pick<JobGraph, 'nodes' | 'edges'>, currentId: string): { nodes: LaidOutNode[]; edges: LaidOutEdge[] } {
  const large = graph.nodes.length > LARGE_GRAPH;
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 64, marginx: 8, marginy: 8, ...(large ? { ranker: 'longest-path' } : {}) });
  g.setDefaultEdgeLabel(() => ({}));
  const known = new Set<string>();
  for (const node of graph.nodes) {
    known.add(node.id);
    g.setNode(node.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  }
  const edges: LaidOutEdge[] = [];
  for (const edge of graph.edges) {
    if (!known.has(edge.from) || !known.has(edge.to)) continue; // a truncated graph lists edges to nodes it left out
    g.setEdge(edge.from, edge.to);
    edges.push({ id: `${edge.from}->${edge.to}`, source: edge.from, target: edge.to });
  }
  dagre.layout(g, large ? { disableOptimalOrderHeuristic: true } : undefined);
  const nodes = graph.nodes.map((node): LaidOutNode => {
    const { x, y } = g.node(node.id) as { x: number; y: number };
    return {
      id: node.id,
      type: 'job',
      // dagre gives centres, React Flow wants top-left corners.
      position: { x: x - NODE_WIDTH / 2, y: y - NODE_HEIGHT / 2 },
      width: NODE_WIDTH,
      height: NODE_HEIGHT,
      data: { id: node.id, label: nodeLabel(node), type: node.type, status: node.status, current: node.id === currentId },
    };
  });
  return { nodes, edges };
}

/** The graph with one node's status changed (a live event), or the same object when nothing changes. */
export function withNodeStatus<G extends Pick<JobGraph, 'nodes'>>(graph: G, jobId: string, status: string): G {
  const index = graph.nodes.findIndex((n) => n.id === jobId);
  if (index < 0 || graph.nodes[index]!.status === status) return graph;
  const nodes = graph.nodes.slice();
  nodes[index] = { ...nodes[index]!, status: status as (typeof nodes)[number]['status'] };
  return { ...graph, nodes };
}
