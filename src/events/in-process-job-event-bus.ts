import { Logger } from '@nestjs/common';
import { JobEventBus, type ClusterSignal, type JobEvent } from './job-event-bus.js';

/** JobEventBus for one process (embedded mode, DESIGN §9): listeners are called in publish order. */
export class InProcessJobEventBus extends JobEventBus {
  private readonly logger = new Logger(InProcessJobEventBus.name);
  private readonly listeners = new Set<(event: JobEvent) => void>();
  private readonly signalListeners = new Set<(signal: ClusterSignal) => void>();

  async publish(events: readonly JobEvent[]): Promise<void> {
    for (const event of events) this.deliver(this.listeners, event);
  }

  subscribe(listener: (event: JobEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async signal(signal: ClusterSignal): Promise<void> {
    this.deliver(this.signalListeners, signal);
  }

  onSignal(listener: (signal: ClusterSignal) => void): () => void {
    this.signalListeners.add(listener);
    return () => this.signalListeners.delete(listener);
  }

  private deliver<T>(listeners: Set<(value: T) => void>, value: T): void {
    for (const listener of listeners) {
      try {
        listener(value);
      } catch (error) {
        this.logger.error({ err: error }, 'job event listener failed');
      }
    }
  }
}
