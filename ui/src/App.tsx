import { ErrorBoundary } from './components/ErrorBoundary.js';
import { KeyPrompt } from './components/KeyPrompt.js';
import { useConnection } from './live/hooks.js';
import { JobPage } from './pages/JobPage.js';
import { JobsPage } from './pages/JobsPage.js';
import { OverviewPage } from './pages/OverviewPage.js';
import { QueuesPage } from './pages/QueuesPage.js';
import { SchedulesPage } from './pages/SchedulesPage.js';
import { Link, useLocation } from './router.js';

function Page() {
  const { path } = useLocation();
  if (path === '/') return <OverviewPage />;
  if (path === '/jobs') return <JobsPage />;
  if (path === '/queues') return <QueuesPage />;
  if (path === '/schedules') return <SchedulesPage />;
  const job = /^\/jobs\/([0-9a-f-]{36})$/i.exec(path);
  if (job) return <JobPage key={job[1]} id={job[1]!.toLowerCase()} />;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        There is no page at <code>{path}</code>. <Link to="/">Go to the overview</Link>.
      </p>
    </section>
  );
}

function Connection() {
  const { state } = useConnection();
  const text = state === 'live' ? 'Live' : state === 'connecting' ? 'Connecting…' : 'Offline, reconnecting…';
  return (
    <span className={`connection connection-${state}`} role="status" aria-live="polite">
      <span className="dot" aria-hidden="true" />
      {text}
    </span>
  );
}

export function App() {
  const { path } = useLocation();
  const current = (p: string) => (p === '/' ? path === '/' : path.startsWith(p) ? 'page' : undefined);
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link to="/" className="brand" aria-label="draconic overview">
          <svg width="18" height="18" viewBox="0 0 16 16" aria-hidden="true">
            <path d="M2 14 8 2l6 12z" fill="currentColor" />
          </svg>
          draconic
        </Link>
        <nav aria-label="Main">
          <Link to="/" aria-current={current('/') ? 'page' : undefined}>
            Overview
          </Link>
          <Link to="/jobs" aria-current={current('/jobs')}>
            Jobs
          </Link>
          <Link to="/queues" aria-current={current('/queues')}>
            Queues
          </Link>
          <Link to="/schedules" aria-current={current('/schedules')}>
            Schedules
          </Link>
          <a href="/docs">API docs</a>
        </nav>
        <Connection />
      </header>
      <main id="main">
        {/* Keyed by the path: moving to another page starts it afresh. */}
        <ErrorBoundary key={path} what="This page">
          <Page />
        </ErrorBoundary>
      </main>
      <KeyPrompt />
    </>
  );
}
