/**
 * The dependency graph of a submission (DESIGN §2, §3). Pure, linear in nodes + edges: cycle
 * detection that names the cycle, topological order, and everything downstream of a node.
 * An edge `{ job, dependsOn }` means `job` waits for `dependsOn`.
 */
export interface Edge {
  job: string;
  dependsOn: string;
}

/** Adjacency from each node to the nodes it depends on, in edge order (nodes without edges included when listed). */
function dependenciesOf(edges: readonly Edge[], nodes: readonly string[] = []): Map<string, string[]> {
  const adjacency = new Map<string, string[]>();
  for (const node of nodes) adjacency.set(node, []);
  for (const { job, dependsOn } of edges) {
    if (!adjacency.has(job)) adjacency.set(job, []);
    if (!adjacency.has(dependsOn)) adjacency.set(dependsOn, []);
    adjacency.get(job)!.push(dependsOn);
  }
  return adjacency;
}

/**
 * A cycle, as the path that closes it (`['a', 'b', 'c', 'a']`: a depends on b, b on c, c on a),
 * or null when the graph is a DAG. Iterative depth-first search: no recursion limit on deep chains.
 */
export function findCycle(edges: readonly Edge[], nodes: readonly string[] = []): string[] | null {
  const adjacency = dependenciesOf(edges, nodes);
  const WHITE = 0;
  const GREY = 1;
  const BLACK = 2;
  const color = new Map<string, number>();
  for (const start of adjacency.keys()) {
    if ((color.get(start) ?? WHITE) !== WHITE) continue;
    // Stack of [node, index of the next dependency to visit]; `path` mirrors the grey nodes.
    const stack: Array<[string, number]> = [[start, 0]];
    const path: string[] = [start];
    const position = new Map<string, number>([[start, 0]]);
    color.set(start, GREY);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const [node, index] = top;
      const next = adjacency.get(node)!;
      if (index < next.length) {
        top[1] = index + 1;
        const dep = next[index]!;
        const c = color.get(dep) ?? WHITE;
        if (c === GREY) return [...path.slice(position.get(dep)!), dep];
        if (c === WHITE) {
          color.set(dep, GREY);
          position.set(dep, path.length);
          path.push(dep);
          stack.push([dep, 0]);
        }
      } else {
        color.set(node, BLACK);
        position.delete(node);
        path.pop();
        stack.pop();
      }
    }
  }
  return null;
}

/**
 * Nodes ordered so that every node comes after all it depends on (Kahn's algorithm, stable:
 * among the nodes ready at the same time, input order wins). Throws on a cycle.
 */
export function topologicalOrder(nodes: readonly string[], edges: readonly Edge[]): string[] {
  const index = new Map(nodes.map((n, i) => [n, i]));
  const waiting = new Map<string, number>(nodes.map((n) => [n, 0]));
  const dependents = new Map<string, string[]>();
  for (const { job, dependsOn } of edges) {
    if (!index.has(job) || !index.has(dependsOn)) continue; // edges to nodes outside the set are already satisfied
    waiting.set(job, waiting.get(job)! + 1);
    const list = dependents.get(dependsOn) ?? [];
    list.push(job);
    dependents.set(dependsOn, list);
  }
  // A binary heap on input position keeps the order stable in O(n log n).
  const heap: number[] = [];
  const push = (i: number) => {
    heap.push(i);
    let c = heap.length - 1;
    while (c > 0) {
      const p = (c - 1) >> 1;
      if (heap[p]! <= heap[c]!) break;
      [heap[p], heap[c]] = [heap[c]!, heap[p]!];
      c = p;
    }
  };
  const pop = (): number => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let p = 0;
      for (;;) {
        const l = 2 * p + 1;
        const r = l + 1;
        let m = p;
        if (l < heap.length && heap[l]! < heap[m]!) m = l;
        if (r < heap.length && heap[r]! < heap[m]!) m = r;
        if (m === p) break;
        [heap[p], heap[m]] = [heap[m]!, heap[p]!];
        p = m;
      }
    }
    return top;
  };
  nodes.forEach((n, i) => waiting.get(n) === 0 && push(i));
  const order: string[] = [];
  while (heap.length > 0) {
    const node = nodes[pop()]!;
    order.push(node);
    for (const dependent of dependents.get(node) ?? []) {
      const left = waiting.get(dependent)! - 1;
      waiting.set(dependent, left);
      if (left === 0) push(index.get(dependent)!);
    }
  }
  if (order.length !== nodes.length) {
    const cycle = findCycle(edges.filter((e) => index.has(e.job) && index.has(e.dependsOn)));
    throw new Error(`dependency cycle: ${(cycle ?? []).join(' -> ')}`);
  }
  return order;
}

/** Every node downstream of `root` (its dependents, theirs, ...), breadth first, root excluded. */
export function downstreamOf(root: string, edges: readonly Edge[]): string[] {
  const dependents = new Map<string, string[]>();
  for (const { job, dependsOn } of edges) {
    const list = dependents.get(dependsOn) ?? [];
    list.push(job);
    dependents.set(dependsOn, list);
  }
  const seen = new Set<string>([root]);
  const out: string[] = [];
  const queue = [root];
  for (let i = 0; i < queue.length; i++) {
    for (const next of dependents.get(queue[i]!) ?? []) {
      if (seen.has(next)) continue;
      seen.add(next);
      out.push(next);
      queue.push(next);
    }
  }
  return out;
}
