/** A fresh, valid POST /jobs body; override any field. */
export function aJob(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'noop', payload: {}, ...overrides };
}
