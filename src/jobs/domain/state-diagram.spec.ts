import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { canMove, JOB_STATUSES } from './job-state.js';

/** The `from --> to` edges of the state diagram in docs/architecture.md ("Job states"), [*] left out. */
function documentedEdges(): string[] {
  const doc = readFileSync('docs/architecture.md', 'utf8');
  const diagram = /```mermaid\nstateDiagram-v2\n([\s\S]*?)```/.exec(doc)?.[1] ?? '';
  return diagram
    .split('\n')
    .map((line) => /^\s*(\w+) --> (\w+)/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]} -> ${m[2]}`)
    .sort();
}

describe('the job state diagram in docs/architecture.md', () => {
  it('draws exactly the moves the state machine allows', () => {
    const allowed = JOB_STATUSES.flatMap((from) => JOB_STATUSES.filter((to) => canMove(from, to)).map((to) => `${from} -> ${to}`)).sort();
    expect(documentedEdges()).toEqual(allowed);
  });
});
