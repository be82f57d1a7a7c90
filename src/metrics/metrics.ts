import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every Prometheus metric of the process, on its own Registry (not the global one, so two apps in
 * one Jest process do not collide).
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  readonly jobsSubmitted = new Counter({
    name: 'draconic_jobs_submitted_total',
    help: 'Jobs accepted by POST /jobs and POST /jobs/batch, by type.',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'draconic_http_request_duration_seconds',
    help: 'HTTP request durations, by method, route and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly transitions = new Counter({
    name: 'draconic_job_transitions_total',
    help: 'Job state transitions, by job type and the state entered.',
    labelNames: ['type', 'to'] as const,
    registers: [this.registry],
  });

  readonly runDuration = new Histogram({
    name: 'draconic_job_run_duration_seconds',
    help: 'Time from running to the end of an attempt, by type and outcome.',
    labelNames: ['type', 'outcome'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600],
    registers: [this.registry],
  });

  readonly queueWait = new Histogram({
    name: 'draconic_job_queue_wait_seconds',
    help: 'Time from created (or due for retry) to running, by type.',
    labelNames: ['type'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300],
    registers: [this.registry],
  });

  readonly jobsByStatus = new Gauge({
    name: 'draconic_jobs',
    help: 'Jobs by status (the counters kept with every transition, read at scrape time).',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  readonly workerCapacity = new Gauge({
    name: 'draconic_worker_capacity',
    help: 'Capacity of live workers, by worker and resource (slots, cpu_units, memory_mb).',
    labelNames: ['worker_id', 'resource'] as const,
    registers: [this.registry],
  });

  readonly workerAllocated = new Gauge({
    name: 'draconic_worker_allocated',
    help: 'Resources booked on live workers, by worker and resource (slots, cpu_units, memory_mb).',
    labelNames: ['worker_id', 'resource'] as const,
    registers: [this.registry],
  });

  readonly rateLimitedStarts = new Counter({
    name: 'draconic_queue_rate_limited_starts_total',
    help: 'Starts of job types under a rate limit, by type (counted by the leader as it places them).',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  readonly queueHeld = new Gauge({
    name: 'draconic_queue_held',
    help: 'Whether a queue rule holds back every ready job of a type (1) at the last placement pass, by type and reason (QUEUE_PAUSED, CONCURRENCY_LIMIT, RATE_LIMITED).',
    labelNames: ['type', 'reason'] as const,
    registers: [this.registry],
  });

  readonly jobCountsDrift = new Counter({
    name: 'draconic_job_counts_drift_total',
    help: 'Counts by type and status found to differ from a count over the jobs table, and rebuilt (the leader checks at takeover and every 10 minutes), by type and status.',
    labelNames: ['type', 'status'] as const,
    registers: [this.registry],
  });

  readonly schedulerLeader = new Gauge({
    name: 'draconic_scheduler_leader',
    help: '1 when this process is the elected scheduler, else 0.',
    registers: [this.registry],
  });

  readonly jobsDeleted = new Counter({
    name: 'draconic_jobs_deleted_total',
    help: 'Jobs deleted with their logs and edges, by type and reason (api: DELETE /jobs/{id}; retention: the leader).',
    labelNames: ['type', 'reason'] as const,
    registers: [this.registry],
  });

  readonly scheduleFires = new Counter({
    name: 'draconic_schedule_fires_total',
    help: 'Jobs created by schedules, by kind (tick: the cron, including caught-up ticks; trigger: POST /schedules/{id}/trigger).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly scheduleSkips = new Counter({
    name: 'draconic_schedule_skips_total',
    help: 'Schedule ticks that created no job, by reason (overlap, catch_up, paused, invalid_template).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly scheduleFireLateness = new Histogram({
    name: 'draconic_schedule_fire_lateness_seconds',
    help: "Time from a schedule's tick to the commit of its job (caught-up ticks included).",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 30, 300, 3600],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'draconic_' });
  }
}
