import { Background, Controls, Handle, Position, ReactFlow, type NodeProps, type Node } from '@xyflow/react';
import { memo, useMemo } from 'react';
import type { JobGraph } from '../api/types.js';
import { LARGE_GRAPH, type GraphNodeData } from '../graph.js';
import { Link, navigate } from '../router.js';
import { StatusBadge } from './StatusBadge.js';
import { useGraphLayout } from './useGraphLayout.js';

type JobNode = Node<GraphNodeData, 'job'>;

const JobNodeView = memo(function JobNodeView({ data }: NodeProps<JobNode>) {
  return (
    <div className={`graph-node status-edge-${data.status}${data.current ? ' graph-node-current' : ''}`} data-node-id={data.id} data-status={data.status}>
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <Link to={`/jobs/${data.id}`} className="graph-node-label" aria-current={data.current ? 'page' : undefined} title={`${data.type} ${data.id}`}>
        {data.label}
      </Link>
      <StatusBadge status={data.status} />
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
});

const nodeTypes = { job: JobNodeView };

/**
 * A job's dependency graph, laid out once per shape (dagre) and recoloured by live statuses: a
 * node shows its status by colour, glyph and word, and opens its job's page.
 */
export function GraphView({ graph, currentId, statuses }: { graph: JobGraph; currentId: string; statuses: ReadonlyMap<string, string> }) {
  const layout = useGraphLayout(graph, currentId);
  const large = graph.nodes.length > LARGE_GRAPH;
  const focus = useMemo(
    () => [{ id: currentId }, ...graph.edges.filter((e) => e.to === currentId || e.from === currentId).map((e) => ({ id: e.to === currentId ? e.from : e.to }))].slice(0, 9),
    [graph, currentId],
  );
  const nodes = useMemo(
    () =>
      (layout?.nodes ?? []).map((node) => {
        const status = statuses.get(node.id);
        return status && status !== node.data.status ? { ...node, data: { ...node.data, status } } : node;
      }),
    [layout, statuses],
  );
  const edges = useMemo(
    () =>
      (layout?.edges ?? []).map((edge) => {
        const done = (statuses.get(edge.source) ?? graph.nodes.find((n) => n.id === edge.source)?.status) === 'completed';
        return { ...edge, animated: !done, className: done ? 'edge-done' : 'edge-waiting' };
      }),
    [layout, statuses, graph],
  );
  if (!layout) {
    return (
      <div className="graph graph-pending" role="status" aria-live="polite">
        <p className="muted">Laying out {graph.nodes.length.toLocaleString()} jobs…</p>
      </div>
    );
  }
  return (
    <div className="graph" role="group" aria-label={`Dependency graph: ${graph.nodes.length} jobs, dependencies on the left`}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        fitView
        // A large graph opens on this job and its neighbours (drawn readable, and React Flow then renders only
        // the nodes in view); the controls zoom out to the whole of it.
        fitViewOptions={large ? { nodes: focus, padding: 0.2, maxZoom: 1 } : { padding: 0.15, maxZoom: 1.2 }}
        minZoom={0.05}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable={false}
        // A click handler also makes the nodes take pointer events (React Flow leaves inert nodes to the pane).
        onNodeClick={(_event, node) => navigate(`/jobs/${node.id}`)}
        onlyRenderVisibleElements={large}
      >
        <Background gap={24} size={1} />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
