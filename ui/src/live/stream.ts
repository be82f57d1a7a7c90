/**
 * The one Socket.IO connection to /jobs/stream (unfiltered: the overview and the lists want every
 * job). Updates are handed to listeners in batches (batcher.ts: once per animation frame, at most a
 * quarter second apart in a hidden tab), so thousands of events a second cost one render per frame.
 * After a reconnect, listeners are told (`epoch` grows) so a page can catch up with `replay` or a
 * refetch.
 */
import { io, type Socket } from 'socket.io-client';
import { apiKey, askForKey, onKeyChange } from '../api/key.js';
import type { JobEventName, JobUpdate } from '../api/types.js';
import { createBatcher } from './batcher.js';
import { replayPages } from './replay-pages.js';

export type BatchListener = (batch: readonly JobUpdate[]) => void;
export type ConnectionState = 'connecting' | 'live' | 'offline';

const batchListeners = new Set<BatchListener>();
const stateListeners = new Set<() => void>();
const scheduleListeners = new Set<() => void>();
let socket: Socket | null = null;
let state: ConnectionState = 'connecting';
let epoch = 0;

const push = createBatcher<JobUpdate>(
  (batch) => {
    for (const listener of batchListeners) listener(batch);
  },
  {
    requestFrame: (run) => requestAnimationFrame(run),
    setTimer: (run, ms) => setTimeout(run, ms),
    clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    hidden: () => typeof document !== 'undefined' && document.hidden,
  },
);

function setState(next: ConnectionState): void {
  state = next;
  for (const listener of stateListeners) listener();
}

function connect(): Socket {
  const s = io('/jobs/stream', {
    transports: ['websocket'],
    // A function: every (re)connection sends the key the tab has now.
    auth: (cb) => cb(apiKey() ? { token: apiKey() } : {}),
  });
  s.on('connect', () => {
    epoch += 1;
    setState('live');
  });
  s.on('disconnect', () => setState('offline'));
  s.on('connect_error', (error: Error) => {
    setState('offline');
    if (/API key/i.test(error.message)) askForKey(apiKey() ? 'The key was refused.' : 'This service needs an API key.');
  });
  s.on('schedule_update', () => {
    for (const listener of scheduleListeners) listener();
  });
  s.on('job_update', (update: JobUpdate) => {
    push(update);
  });
  return s;
}

export function stream(): Socket {
  if (!socket) {
    socket = connect();
    // A new key: connect again with it (a refused handshake does not retry on its own).
    onKeyChange(() => {
      if (!apiKey() || !socket) return;
      socket.disconnect();
      socket.connect();
    });
  }
  return socket;
}

export function onBatch(listener: BatchListener): () => void {
  stream();
  batchListeners.add(listener);
  return () => batchListeners.delete(listener);
}

/** Called on every schedule_update event (DESIGN §15): a schedule was created, changed, fired or removed. */
export function onScheduleUpdate(listener: () => void): () => void {
  stream();
  scheduleListeners.add(listener);
  return () => scheduleListeners.delete(listener);
}

export function onConnectionChange(listener: () => void): () => void {
  stateListeners.add(listener);
  return () => stateListeners.delete(listener);
}

export function connectionState(): ConnectionState {
  return state;
}

/** Grows by one on every (re)connection. */
export function connectionEpoch(): number {
  return epoch;
}

/**
 * A job's events after a sequence number, from the service's store (DESIGN §7 catch-up): every page
 * of them (an answer with `more` is followed by the next page), a page the service refuses for a
 * moment asked again after a pause; it stops (ReplayStopped) once `stopped()` is true.
 */
export async function replay(jobId: string, afterSequence: number, stopped?: () => boolean, keep?: number): Promise<JobUpdate[]> {
  const ask = (after: number) => stream().timeout(15_000).emitWithAck('replay', { job_id: jobId, after_sequence: after });
  return replayPages(ask, afterSequence, { stopped, keep });
}

/** Events after which a job's stored fields (result, error, times) have changed. */
export const CHANGES_FIELDS: ReadonlySet<JobEventName> = new Set<JobEventName>([
  'job_blocked',
  'job_ready',
  'job_started',
  'job_completed',
  'job_failed',
  'job_timeout',
  'job_retry_scheduled',
  'job_cancelled',
  'job_scheduled',
]);
