import { Background, Controls, Handle, Position, ReactFlow, type Edge, type NodeProps, type Node } from '@xyflow/react';
import { memo, useMemo } from 'react';
import type { JobGraph } from '../api/types.js';
import { focusOf, LARGE_GRAPH, type GraphNodeData } from '../graph.js';
import { Link, navigate } from '../router.js';
import { StatusBadge } from './StatusBadge.js';
import { useGraphLayout } from './useGraphLayout.js';

type JobNode = Node<GraphNodeData, 'job'>;

/**
 * A job in the graph. The layout declares its connection points, which serve the edges of jobs not
 * drawn (out of view); a drawn job is measured, and React Flow then reads them from its handles.
 */
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
 * A job's dependency graph, laid out once per shape (d3-dag) and recoloured by live statuses: a node
 * shows its status by colour, glyph and word, and opens its job's page. A large graph opens on the
 * current job and its nearest neighbours, and React Flow renders only the nodes and edges in view;
 * its edges do not animate (a thousand animated dashes repaint every frame).
 */
function GraphViewImpl({ graph, currentId, statuses }: { graph: JobGraph; currentId: string; statuses: ReadonlyMap<string, string> }) {
  const layout = useGraphLayout(graph, currentId);
  const large = graph.nodes.length > LARGE_GRAPH;
  const focus = useMemo(() => (large && layout ? focusOf(layout.nodes, graph, currentId) : undefined), [large, layout, graph, currentId]);
  const nodes = useMemo(
    () =>
      (layout?.nodes ?? []).map((node) => {
        const status = statuses.get(node.id);
        return status && status !== node.data.status ? { ...node, data: { ...node.data, status } } : node;
      }),
    [layout, statuses],
  );
  const edges = useMemo((): Edge[] => {
    const initial = new Map(graph.nodes.map((n) => [n.id, n.status as string]));
    return (layout?.edges ?? []).map((edge) => {
      const done = (statuses.get(edge.source) ?? initial.get(edge.source)) === 'completed';
      return { ...edge, animated: !done && !large, className: done ? 'edge-done' : 'edge-waiting' };
    });
  }, [layout, statuses, graph, large]);
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
        // A large graph opens on this job and its nearest neighbours, drawn readable; the controls zoom out to the whole of it.
        fitViewOptions={focus ? { nodes: focus, padding: 0.2, maxZoom: 1 } : { padding: 0.15, maxZoom: 1.2 }}
        minZoom={0.05}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable={false}
        edgesFocusable={!large}
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

export const GraphView = memo(GraphViewImpl);
export default GraphView;
