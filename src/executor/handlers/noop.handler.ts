import { Injectable } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsInt, IsObject, Max, Min } from 'class-validator';
import { Omittable } from '../../common/omittable.js';
import { JobHandler, NonRetryableError, type JobContext, type JobHandlerContract, type RunningJob } from '../job-handler.decorator.js';

export class NoopPayload {
  /** How long to wait (abortable). */
  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: 86_400_000, default: 0, example: 100, description: 'How long to wait, in milliseconds (abortable).' })
  @Omittable() @IsInt() @Min(0) @Max(86_400_000)
  duration_ms?: number;

  /** Fail the first n attempts with HANDLER_ERROR (for trying retries). */
  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: 1000, default: 0, description: 'Fail the first n attempts with HANDLER_ERROR (to try retries).' })
  @Omittable() @IsInt() @Min(0) @Max(1000)
  fail_attempts?: number;

  /** Fail with a NonRetryableError (for trying failures that skip the remaining attempts). */
  @ApiPropertyOptional({ type: 'boolean', default: false, description: 'Fail for good, skipping the remaining attempts.' })
  @Omittable() @IsBoolean()
  fail_permanently?: boolean;

  /** Keep waiting when the signal aborts (for trying timeouts of handlers that never return). */
  @ApiPropertyOptional({ type: 'boolean', default: false, description: 'Keep waiting when cancelled or timed out (to try handlers that never return).' })
  @Omittable() @IsBoolean()
  ignore_signal?: boolean;

  /** Returned as `result.echo`. */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: 'Returned as result.echo.' })
  @Omittable() @IsObject()
  echo?: Record<string, unknown>;

  /** Return the results of the job's dependencies as `result.dependencies` (by id) and `result.by_ref`. */
  @ApiPropertyOptional({ type: 'boolean', default: false, description: "Return the dependencies' results as result.dependencies (by id) and result.by_ref." })
  @Omittable() @IsBoolean()
  echo_dependencies?: boolean;
}

/** Waits `duration_ms` (abortable) and returns `{ok: true}`: for smoke tests and benchmarks. */
@Injectable()
@JobHandler('noop')
export class NoopHandler implements JobHandlerContract<NoopPayload> {
  readonly payloadType = NoopPayload;

  async handle(job: RunningJob<NoopPayload>, ctx: JobContext): Promise<unknown> {
    const { duration_ms = 0, fail_attempts = 0, fail_permanently = false, ignore_signal = false, echo, echo_dependencies = false } = job.payload;
    // ctx.signal is read only when there is something to abort: the executor makes it on first use.
    if (duration_ms > 0) await wait(duration_ms, ignore_signal ? undefined : ctx.signal);
    if (fail_permanently) throw new NonRetryableError('noop: failing for good on purpose (fail_permanently)');
    if (job.attempt <= fail_attempts) throw new Error(`noop: failing attempt ${job.attempt} of the first ${fail_attempts} on purpose`);
    const result: Record<string, unknown> = { ok: true };
    if (echo !== undefined) result.echo = echo;
    if (echo_dependencies) {
      const byId: Record<string, unknown> = {};
      const byRef: Record<string, unknown> = {};
      for (const [key, dep] of ctx.dependencyResults) {
        if (key === dep.id) byId[dep.id] = dep.result;
        else byRef[key] = dep.result;
      }
      result.dependencies = byId;
      result.by_ref = byRef;
    }
    return result;
  }
}

function wait(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
