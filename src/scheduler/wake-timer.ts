import { databaseTime } from '../common/database-time.js';

/**
 * Owns one wake-up timer set for the earliest time asked (the due-job and the rate-limit wake-ups):
 * `kept` says whether the armed time already serves a new one, `delay` how long to wait for it.
 */
export class WakeTimer {
  private timer?: NodeJS.Timeout;
  private armedAt: number | null = null;

  constructor(
    private readonly wake: () => void,
    private readonly kept: (armedAt: number | null, at: number, now: number) => boolean,
    private readonly delay: (at: number, now: number) => number,
  ) {}

  arm(at: number): void {
    if (this.kept(this.armedAt, at, databaseTime.now())) return;
    if (this.timer) clearTimeout(this.timer);
    this.armedAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.armedAt = null;
      this.wake();
    }, this.delay(at, databaseTime.now()));
    this.timer.unref();
  }

  /** Forgets the armed time (the timer stays set): the next `arm` replaces it whatever its time. */
  forget(): void {
    this.armedAt = null;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = null;
  }
}
