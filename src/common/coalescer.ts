/**
 * Gathers calls made close together and runs them as one batch, each caller still getting its own
 * result (group commit). One batch runs at a time; calls that arrive meanwhile form the next one.
 * With no load a call starts at the end of the current tick (a microtask, not a macrotask), so it
 * waits for nothing; under load the batches form by themselves while the previous one runs.
 *
 * A batch that fails with an error `isolate` recognises (one that names bad data, not an unavailable
 * database) is run again one item at a time, so that one caller's bad item fails only that caller.
 * The flush must then be all or nothing: a failed call has written nothing.
 */
export class Coalescer<I, O> {
  private queue: Array<{ item: I; resolve: (o: O) => void; reject: (e: unknown) => void }> = [];
  private running = false;
  private scheduled = false;

  constructor(
    private readonly flush: (items: I[]) => Promise<O[]>,
    private readonly maxBatch = 500,
    private readonly isolate: (error: unknown) => boolean = () => false,
  ) {}

  push(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          const results = await this.flush(batch.map((b) => b.item));
          batch.forEach((b, i) => b.resolve(results[i] as O));
        } catch (error) {
          if (batch.length > 1 && this.isolate(error)) await this.oneByOne(batch);
          else batch.forEach((b) => b.reject(error));
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async oneByOne(batch: typeof this.queue): Promise<void> {
    for (const b of batch) {
      try {
        const [result] = await this.flush([b.item]);
        b.resolve(result as O);
      } catch (error) {
        b.reject(error);
      }
    }
  }
}
