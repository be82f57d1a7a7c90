import { Component, type ErrorInfo, type ReactNode } from 'react';

interface Props {
  /** What failed, as the start of a sentence: "This page", "The dependency graph". */
  what: string;
  children: ReactNode;
}

/**
 * A part of the page that fails to draw (a code chunk gone after a new version was deployed, a value
 * the drawing code cannot read) is replaced by a message saying so, instead of React unmounting the
 * whole dashboard and leaving a blank page. A chunk that failed to load stays failed until the page
 * is reloaded, so the message says to reload.
 */
export class ErrorBoundary extends Component<Props, { error: Error | null }> {
  override state: { error: Error | null } = { error: null };

  static getDerivedStateFromError(error: unknown): { error: Error } {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  override componentDidCatch(error: unknown, info: ErrorInfo): void {
    console.warn(`${this.props.what} could not be shown`, error, info.componentStack);
  }

  override render(): ReactNode {
    const { error } = this.state;
    if (!error) return this.props.children;
    const chunk = /dynamically imported module|importing a module script|loading chunk|failed to fetch/i.test(error.message);
    return (
      <div className="callout callout-error" role="alert" data-testid="render-error">
        <strong>{this.props.what} could not be shown</strong>
        {chunk ? ': part of the dashboard did not load (a newer version may have been deployed since this page opened).' : `: ${error.message}.`}{' '}
        <button type="button" onClick={() => window.location.reload()}>
          Reload the page
        </button>
      </div>
    );
  }
}
