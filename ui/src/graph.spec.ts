import { describe, expect, it } from '@jest/globals';
import { FOCUS_NEIGHBOURS, focusOf, layoutGraph, NODE_HEIGHT, NODE_WIDTH, nodeLabel, withNodeStatus } from './graph.js';
import type { JobGraph } from './api/types.js';

const id = (n: number) => `00000000-0000-7000-8000-00000000000${n}`;
const diamond: JobGraph = {
  nodes: [
    { id: id(1), ref: 'a', type: 'noop', status: 'completed' },
    { id: id(2), ref: 'b', type: 'noop', status: 'running' },
    { id: id(3), ref: null, type: 'data_fetch', status: 'ready' },
    { id: id(4), ref: 'd', type: 'noop', status: 'blocked' },
  ],
  edges: [
    { from: id(1), to: id(2) },
    { from: id(1), to: id(3) },
    { from: id(2), to: id(4) },
    { from: id(3), to: id(4) },
  ],
  truncated: false,
};

describe('graph building', () => {
  it('lays a diamond out in layers, dependencies left of their dependents', () => {
    const { nodes, edges } = layoutGraph(diamond, id(4));
    const x = Object.fromEntries(nodes.map((n) => [n.data.label, n.position.x]));
    const label3 = nodeLabel(diamond.nodes[2]!);
    expect(x.a!).toBeLessThan(x.b!);
    expect(x.b).toBe(x[label3]);
    expect(x.b!).toBeLessThan(x.d!);
    const b = nodes.find((n) => n.id === id(2))!;
    const c = nodes.find((n) => n.id === id(3))!;
    expect(b.position.y).not.toBe(c.position.y); // side by side, not on top of each other
    expect(edges.map((e) => `${e.source}->${e.target}`)).toEqual(diamond.edges.map((e) => `${e.from}->${e.to}`));
    expect(nodes.find((n) => n.id === id(4))!.data).toMatchObject({ current: true, status: 'blocked', label: 'd' });
    expect(nodes.filter((n) => n.data.current)).toHaveLength(1);
  });

  it('declares where edges meet each node (in on the left, out on the right), for the nodes React Flow does not render', () => {
    const { nodes } = layoutGraph(diamond, id(4));
    for (const node of nodes) {
      expect(node).toMatchObject({ width: NODE_WIDTH, height: NODE_HEIGHT });
      expect(node.handles).toEqual([
        expect.objectContaining({ type: 'target', position: 'left', x: 0, y: NODE_HEIGHT / 2 }),
        expect.objectContaining({ type: 'source', position: 'right', x: NODE_WIDTH, y: NODE_HEIGHT / 2 }),
      ]);
    }
  });

  it('keeps a node without edges and draws a repeated edge once', () => {
    const graph: JobGraph = { ...diamond, nodes: [...diamond.nodes, { id: id(5), ref: 'e', type: 'noop', status: 'ready' }], edges: [...diamond.edges, diamond.edges[0]!] };
    const laid = layoutGraph(graph, id(1));
    expect(laid.nodes).toHaveLength(5);
    expect(laid.edges).toHaveLength(4);
    const corners = laid.nodes.map((n) => n.position);
    for (let i = 0; i < corners.length; i++) {
      for (let j = i + 1; j < corners.length; j++) {
        const apart = Math.abs(corners[i]!.x - corners[j]!.x) >= NODE_WIDTH || Math.abs(corners[i]!.y - corners[j]!.y) >= NODE_HEIGHT;
        expect(apart).toBe(true); // no two nodes overlap
      }
    }
  });

  it('opens a large graph on the current job and its nearest neighbours', () => {
    const nodes = Array.from({ length: 30 }, (_, i) => ({ id: `n${i}`, ref: null, type: 'noop', status: 'blocked' as const }));
    nodes.push({ id: 'sink', ref: null, type: 'noop', status: 'blocked' });
    const edges = nodes.slice(0, 30).map((n) => ({ from: n.id, to: 'sink' }));
    const laid = layoutGraph({ nodes, edges, truncated: false }, 'sink');
    const focus = focusOf(laid.nodes, { edges }, 'sink').map((f) => f.id);
    expect(focus[0]).toBe('sink');
    expect(focus).toHaveLength(1 + FOCUS_NEIGHBOURS);
    const sink = laid.nodes.find((n) => n.id === 'sink')!.position;
    const gap = (nodeId: string) => Math.abs(laid.nodes.find((n) => n.id === nodeId)!.position.y - sink.y);
    const farthestShown = Math.max(...focus.slice(1).map(gap));
    const nearestLeftOut = Math.min(...nodes.slice(0, 30).filter((n) => !focus.includes(n.id)).map((n) => gap(n.id)));
    expect(farthestShown).toBeLessThanOrEqual(nearestLeftOut);
    expect(focusOf(laid.nodes, { edges }, 'not-there')).toEqual([]);
  });

  it('labels a node by its ref, else by type and the end of its id', () => {
    expect(nodeLabel(diamond.nodes[0]!)).toBe('a');
    expect(nodeLabel(diamond.nodes[2]!)).toBe('data_fetch 000003');
  });

  it('drops edges to nodes a truncated graph left out', () => {
    const truncated: JobGraph = { ...diamond, nodes: diamond.nodes.slice(0, 2), truncated: true };
    expect(layoutGraph(truncated, id(1)).edges).toEqual([{ id: `${id(1)}->${id(2)}`, source: id(1), target: id(2) }]);
  });

  it('changes one node status for a live event, keeping the object when nothing changes', () => {
    const next = withNodeStatus(diamond, id(4), 'ready');
    expect(next.nodes[3]!.status).toBe('ready');
    expect(diamond.nodes[3]!.status).toBe('blocked');
    expect(withNodeStatus(next, id(4), 'ready')).toBe(next);
    expect(withNodeStatus(next, 'unknown', 'ready')).toBe(next);
  });

  it('lays out a thousand-node graph', () => {
    const nodes = Array.from({ length: 1000 }, (_, i) => ({ id: `n${i}`, ref: `n${i}`, type: 'noop', status: 'pending' as const }));
    const edges = nodes.slice(1).map((n, i) => ({ from: `n${Math.floor(i / 3)}`, to: n.id }));
    const laid = layoutGraph({ nodes, edges, truncated: false }, 'n0');
    expect(laid.nodes).toHaveLength(1000);
    expect(new Set(laid.nodes.map((n) => `${n.position.x},${n.position.y}`)).size).toBe(1000);
  });

  it('lays out a dense 1,000-node DAG (each job waits for two of the layer before), dependencies left of their dependents', () => {
    const width = 111;
    const nodes = Array.from({ length: 999 }, (_, i) => ({ id: `n${i}`, ref: `n${i}`, type: 'noop', status: 'blocked' as const }));
    const edges = nodes.slice(width).flatMap((n, i) => [
      { from: `n${i}`, to: n.id },
      { from: `n${Math.floor(i / width) * width + ((i + 1) % width)}`, to: n.id },
    ]);
    nodes.push({ id: 'sink', ref: 'sink', type: 'noop', status: 'blocked' });
    edges.push(...nodes.slice(999 - width, 999).map((n) => ({ from: n.id, to: 'sink' })));
    const laid = layoutGraph({ nodes, edges, truncated: false }, 'sink');
    const x = new Map(laid.nodes.map((n) => [n.id, n.position.x]));
    expect(laid.nodes).toHaveLength(1000);
    for (const edge of edges) expect(x.get(edge.from)!).toBeLessThan(x.get(edge.to)!);
    expect(new Set(laid.nodes.map((n) => `${n.position.x},${n.position.y}`)).size).toBe(1000);
  });
});
