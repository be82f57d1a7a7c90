import { useEffect, useRef, useSyncExternalStore } from 'react';
import type { JobUpdate } from '../api/types.js';
import { connectionEpoch, connectionState, onBatch, onConnectionChange } from './stream.js';

/** Calls `listener` with each frame's batch of job updates (the latest listener, without resubscribing). */
export function useLiveBatches(listener: (batch: readonly JobUpdate[]) => void): void {
  const current = useRef(listener);
  current.current = listener;
  useEffect(() => onBatch((batch) => current.current(batch)), []);
}

export function useConnection(): { state: ReturnType<typeof connectionState>; epoch: number } {
  const state = useSyncExternalStore(onConnectionChange, connectionState);
  const epoch = useSyncExternalStore(onConnectionChange, connectionEpoch);
  return { state, epoch };
}

/** Runs `fn` at most once per `ms` (trailing call kept): refetches driven by a flood of events. */
export function useThrottled(fn: () => void, ms: number): () => void {
  const last = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const current = useRef(fn);
  current.current = fn;
  useEffect(() => () => {
    if (timer.current) clearTimeout(timer.current);
  }, []);
  const ref = useRef(() => {
    if (timer.current) return;
    const wait = Math.max(0, last.current + ms - Date.now());
    timer.current = setTimeout(() => {
      timer.current = null;
      last.current = Date.now();
      current.current();
    }, wait);
  });
  return ref.current;
}
