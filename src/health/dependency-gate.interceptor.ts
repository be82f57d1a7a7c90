import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Observable } from 'rxjs';
import { DependencyUnavailableError, type Dependency } from '../common/errors/domain-error.js';
import { AppConfig } from '../config/app-config.js';
import { DependencyProbe } from './dependency-probe.js';
import { HealthController } from './health.controller.js';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);
const READ_NEEDS: readonly Dependency[] = ['database'];
/** A change is stored in PostgreSQL and announced through Redis (events, placements, signals). */
const WRITE_NEEDS: readonly Dependency[] = ['database', 'redis'];

/**
 * Admission by the dependencies' last known state (DependencyProbe): a request that needs a
 * dependency the probe sees down gets 503 with Retry-After at once, and one in flight when the
 * probe sees it go down gets it then, instead of waiting for a server that does not answer.
 * Reads need PostgreSQL; changes also need Redis. Health is never held back.
 * A change answered 503 after its write was sent may still have been stored: a retry with the
 * same idempotency key finds it; no change is ever acknowledged that was not stored.
 */
@Injectable()
export class DependencyGate implements NestInterceptor {
  private readonly retryAfterSeconds: number;

  constructor(
    private readonly probe: DependencyProbe,
    config: AppConfig,
  ) {
    this.retryAfterSeconds = Math.max(1, Math.ceil(config.healthProbe.intervalMs / 1000));
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const controller = context.getClass();
    if (context.getType() !== 'http' || controller === HealthController) return next.handle();
    const method = context.switchToHttp().getRequest<{ method: string }>().method;
    const needs = READS.has(method) ? READ_NEEDS : WRITE_NEEDS;
    const down = this.probe.firstDown(needs);
    if (down) throw this.unavailable(down);
    return new Observable((subscriber) => {
      const off = this.probe.onDown((dependency) => {
        if (needs.includes(dependency)) subscriber.error(this.unavailable(dependency, !READS.has(method)));
      });
      const subscription = next.handle().subscribe(subscriber);
      return () => {
        off();
        subscription.unsubscribe();
      };
    });
  }

  /** `inFlight`: a change already under way (it may have been stored). */
  private unavailable(dependency: Dependency, inFlight = false): DependencyUnavailableError {
    return new DependencyUnavailableError(dependency, this.retryAfterSeconds, this.probe.state(dependency).message, inFlight);
  }
}
