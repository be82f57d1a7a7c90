import { describe, expect, it } from '@jest/globals';
import { downstreamOf, findCycle, topologicalOrder, type Edge } from './dependency-graph.js';

/** 'b->a' means b depends on a. */
const graph = (...edges: string[]): Edge[] =>
  edges.map((e) => {
    const [job, dependsOn] = e.split('->');
    return { job: job!, dependsOn: dependsOn! };
  });

/** A seeded generator, so the random graphs are the same on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const chain = (n: number) => ({
  nodes: Array.from({ length: n }, (_, i) => `n${i}`),
  edges: Array.from({ length: n - 1 }, (_, i) => ({ job: `n${i + 1}`, dependsOn: `n${i}` })),
});

/** A random DAG: each node depends on up to `maxDeps` earlier nodes. */
function randomDag(n: number, maxDeps: number, seed: number) {
  const random = rng(seed);
  const nodes = Array.from({ length: n }, (_, i) => `n${i}`);
  const edges: Edge[] = [];
  for (let i = 1; i < n; i++) {
    const deps = new Set<number>();
    const count = Math.floor(random() * (maxDeps + 1));
    for (let k = 0; k < count; k++) deps.add(Math.floor(random() * i));
    for (const d of deps) edges.push({ job: `n${i}`, dependsOn: `n${d}` });
  }
  // Shuffle the node list so input order is not already topological.
  for (let i = nodes.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [nodes[i], nodes[j]] = [nodes[j]!, nodes[i]!];
  }
  return { nodes, edges };
}

function assertTopological(order: string[], nodes: string[], edges: Edge[]) {
  expect(order).toHaveLength(nodes.length);
  expect(new Set(order).size).toBe(nodes.length);
  const position = new Map(order.map((n, i) => [n, i]));
  // One expectation over every edge: an `expect` per edge costs seconds on the large graphs.
  const backwards = edges.filter(({ job, dependsOn }) => !(position.get(dependsOn)! < position.get(job)!));
  expect(backwards).toEqual([]);
}

/** Checks a reported cycle is real: consecutive nodes are edges, and it closes. */
function assertCycle(cycle: string[] | null, edges: Edge[]) {
  expect(cycle).not.toBeNull();
  const set = new Set(edges.map((e) => `${e.job}>${e.dependsOn}`));
  expect(cycle![0]).toBe(cycle![cycle!.length - 1]);
  const missing = cycle!.slice(1).map((next, i) => `${cycle![i]}>${next}`).filter((edge) => !set.has(edge));
  expect(missing).toEqual([]);
}

describe(findCycle.name, () => {
  it('returns null for a diamond', () => expect(findCycle(graph('b->a', 'c->a', 'd->b', 'd->c'))).toBeNull());
  it('names a two-node cycle in order', () => expect(findCycle(graph('a->b', 'b->a'))).toEqual(['a', 'b', 'a']));
  it('names a self-dependency', () => expect(findCycle(graph('a->a'))).toEqual(['a', 'a']));
  it('names a three-node cycle, starting where the search entered it', () =>
    expect(findCycle(graph('a->b', 'b->c', 'c->a'))).toEqual(['a', 'b', 'c', 'a']));
  it('finds a cycle hanging below an acyclic part', () =>
    expect(findCycle(graph('x->a', 'a->b', 'b->c', 'c->b'))).toEqual(['b', 'c', 'b']));
  it('returns null for no edges', () => expect(findCycle([], ['a', 'b'])).toBeNull());

  it('handles a chain of 100,000 without recursion', () => {
    const { nodes, edges } = chain(100_000);
    expect(findCycle(edges, nodes)).toBeNull();
    edges.push({ job: 'n0', dependsOn: 'n99999' });
    const cycle = findCycle(edges, nodes);
    assertCycle(cycle, edges);
    expect(cycle).toHaveLength(100_001);
  });

  it.each([1, 2, 3, 4, 5])('finds no cycle in a random DAG of 10,000 nodes (seed %i)', (seed) => {
    const { nodes, edges } = randomDag(10_000, 5, seed);
    expect(findCycle(edges, nodes)).toBeNull();
  });

  it.each([11, 12, 13, 14, 15])('finds the planted cycle in a random DAG of 10,000 nodes (seed %i)', (seed) => {
    const { nodes, edges } = randomDag(10_000, 5, seed);
    // Plant: an early node depends on a late node that (through a chain we add) depends on it.
    edges.push({ job: 'n10', dependsOn: 'n9000' }, { job: 'n9000', dependsOn: 'n5000' }, { job: 'n5000', dependsOn: 'n10' });
    assertCycle(findCycle(edges, nodes), edges);
  });
});

describe(topologicalOrder.name, () => {
  it('orders a diamond, stable on input order', () =>
    expect(topologicalOrder(['d', 'c', 'b', 'a'], graph('b->a', 'c->a', 'd->b', 'd->c'))).toEqual(['a', 'c', 'b', 'd']));

  it('keeps input order for independent nodes', () => expect(topologicalOrder(['z', 'y', 'x'], [])).toEqual(['z', 'y', 'x']));

  it('ignores edges to nodes outside the set', () => expect(topologicalOrder(['a'], graph('a->outside'))).toEqual(['a']));

  it('throws naming the cycle', () => expect(() => topologicalOrder(['a', 'b'], graph('a->b', 'b->a'))).toThrow('dependency cycle: a -> b -> a'));

  it('orders a wide fan-in and fan-out', () => {
    const children = Array.from({ length: 1000 }, (_, i) => `c${i}`);
    const edges = [...children.map((c) => ({ job: c, dependsOn: 'root' })), ...children.map((c) => ({ job: 'sink', dependsOn: c }))];
    const nodes = ['sink', ...children, 'root'];
    const order = topologicalOrder(nodes, edges);
    assertTopological(order, nodes, edges);
    expect(order[0]).toBe('root');
    expect(order[order.length - 1]).toBe('sink');
  });

  it.each([1, 2, 3])('orders a random DAG of 10,000 nodes (seed %i)', (seed) => {
    const { nodes, edges } = randomDag(10_000, 5, seed);
    assertTopological(topologicalOrder(nodes, edges), nodes, edges);
  });

  it('orders a long chain given backwards', () => {
    const { nodes, edges } = chain(50_000);
    assertTopological(topologicalOrder([...nodes].reverse(), edges), nodes, edges);
  });
});

describe(downstreamOf.name, () => {
  it('lists everything downstream, transitively, once each', () =>
    expect(downstreamOf('a', graph('b->a', 'c->a', 'd->b', 'd->c', 'e->d', 'x->y')).sort()).toEqual(['b', 'c', 'd', 'e']));
  it('is empty for a leaf', () => expect(downstreamOf('e', graph('e->d'))).toEqual([]));
  it('covers a fan-out of 1,000', () =>
    expect(downstreamOf('root', Array.from({ length: 1000 }, (_, i) => ({ job: `c${i}`, dependsOn: 'root' })))).toHaveLength(1000));
});
