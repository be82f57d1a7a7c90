/**
 * Lays out a job's dependency graph (GET /jobs/{id}/graph) for drawing: a layered (Sugiyama) layout
 * from d3-dag, dependencies left of their dependents. Pure: the nodes it returns are what React Flow
 * draws, positioned, with their size and two connection points declared, so React Flow places the
 * view and draws the edges of a node it has not measured (one out of view, which it does not render).
 */
import { coordGreedy, coordSimplex, decrossDfs, decrossTwoLayer, graph as newGraph, layeringLongestPath, layeringSimplex, sugiyama, type MutGraphNode } from 'd3-dag';
import type { NodeHandle, Position } from '@xyflow/react';
import type { JobGraph } from './api/types.js';

export const NODE_WIDTH = 190;
export const NODE_HEIGHT = 58;
const NODE_GAP = 24; // between the jobs of a layer
const LAYER_GAP = 64; // between layers

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
  /** The size React Flow would measure (the CSS gives the node exactly this): with it, the view fits before any node is measured. */
  measured: { width: number; height: number };
  handles: NodeHandle[];
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
 * From this many jobs on, the layout trades tidiness for time and runs in a worker: layers by longest
 * path, each layer ordered by a depth-first walk, coordinates placed greedily (about 130 ms in Node for
 * a dense 1,000-job DAG, where two-layer crossing sweeps took 240 ms to 1 s and dagre seconds). Below
 * it, the tidier layering, sweeps and coordinates (linear programs) cost a few tens of milliseconds at
 * most, which a small graph affords on the page itself.
 */
export const LARGE_GRAPH = 200;

/** What the layout worker is sent. */
export interface LayoutRequest {
  graph: Pick<JobGraph, 'nodes' | 'edges'>;
  currentId: string;
}

const SIZE = { width: NODE_WIDTH, height: NODE_HEIGHT };

/** Where edges meet a node: dependencies come in on the left, dependents leave on the right. */
const HANDLES: NodeHandle[] = [
  { type: 'target', position: 'left' as Position, x: 0, y: NODE_HEIGHT / 2, width: 1, height: 1 },
  { type: 'source', position: 'right' as Position, x: NODE_WIDTH, y: NODE_HEIGHT / 2, width: 1, height: 1 },
];

// Sugiyama stacks layers top to bottom: a layer's axis is our x, so a node's extent along it is its width.
const SPACING = { size: [NODE_HEIGHT, NODE_WIDTH] as const, gap: [NODE_GAP, LAYER_GAP] as const };
const tidy = sugiyama().layering(layeringSimplex()).decross(decrossTwoLayer()).coord(coordSimplex()).nodeSize(SPACING.size).gap(SPACING.gap);
const quick = sugiyama().layering(layeringLongestPath()).decross(decrossDfs()).coord(coordGreedy()).nodeSize(SPACING.size).gap(SPACING.gap);

export function layoutGraph(graph: Pick<JobGraph, 'nodes' | 'edges'>, currentId: string): { nodes: LaidOutNode[]; edges: LaidOutEdge[] } {
  const dag = newGraph<string, undefined>();
  const byId = new Map<string, MutGraphNode<string, undefined>>();
  for (const node of graph.nodes) if (!byId.has(node.id)) byId.set(node.id, dag.node(node.id));
  const edges: LaidOutEdge[] = [];
  const seen = new Set<string>();
  for (const edge of graph.edges) {
    const from = byId.get(edge.from);
    const to = byId.get(edge.to);
    const id = `${edge.from}->${edge.to}`;
    if (!from || !to || seen.has(id)) continue; // a truncated graph lists edges to nodes it left out
    seen.add(id);
    dag.link(from, to);
    edges.push({ id, source: edge.from, target: edge.to });
  }
  if (graph.nodes.length > LARGE_GRAPH) quick(dag);
  else tidy(dag);
  const nodes = graph.nodes.map((node): LaidOutNode => {
    const laid = byId.get(node.id)!;
    return {
      id: node.id,
      type: 'job',
      // d3-dag gives centres, with layers along y; React Flow wants top-left corners, layers along x.
      position: { x: laid.y - NODE_WIDTH / 2, y: laid.x - NODE_HEIGHT / 2 },
      width: NODE_WIDTH,
      height: NODE_HEIGHT,
      measured: SIZE,
      handles: HANDLES,
      data: { id: node.id, label: nodeLabel(node), type: node.type, status: node.status, current: node.id === currentId },
    };
  });
  return { nodes, edges };
}

/** How many of the current job's neighbours a large graph opens on: the nearest, so the view stays readable. */
export const FOCUS_NEIGHBOURS = 8;

/** The current job and its nearest neighbours in the layout (dependencies and dependents): what a large graph opens on. */
export function focusOf(nodes: readonly LaidOutNode[], graph: Pick<JobGraph, 'edges'>, currentId: string): Array<{ id: string }> {
  const at = new Map(nodes.map((n) => [n.id, n.position]));
  const here = at.get(currentId);
  if (!here) return [];
  const distance = (id: string) => {
    const p = at.get(id);
    return p ? Math.hypot(p.x - here.x, p.y - here.y) : Infinity;
  };
  const neighbours = [...new Set(graph.edges.flatMap((e) => (e.to === currentId ? [e.from] : e.from === currentId ? [e.to] : [])))].filter((id) => at.has(id));
  return [currentId, ...neighbours.sort((a, b) => distance(a) - distance(b)).slice(0, FOCUS_NEIGHBOURS)].map((id) => ({ id }));
}

/** The graph with one node's status changed (a live event), or the same object when nothing changes. */
export function withNodeStatus<G extends Pick<JobGraph, 'nodes'>>(graph: G, jobId: string, status: string): G {
  const index = graph.nodes.findIndex((n) => n.id === jobId);
  if (index < 0 || graph.nodes[index]!.status === status) return graph;
  const nodes = graph.nodes.slice();
  nodes[index] = { ...nodes[index]!, status: status as (typeof nodes)[number]['status'] };
  return { ...graph, nodes };
}
