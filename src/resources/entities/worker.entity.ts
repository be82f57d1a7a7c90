import { Check, Column, Entity, PrimaryColumn } from 'typeorm';

export const WORKER_STATUSES = ['active', 'draining', 'lost', 'stopped'] as const;
export type WorkerStatus = (typeof WORKER_STATUSES)[number];

@Entity({ name: 'workers' })
@Check('workers_status_check', `((status)::text = ANY ((ARRAY['active'::character varying, 'draining'::character varying, 'lost'::character varying, 'stopped'::character varying])::text[]))`)
export class Worker {
  @PrimaryColumn({ type: 'varchar', length: 100, name: 'id' })
  id!: string;

  @Column({ type: 'varchar', length: 255, name: 'host' })
  host!: string;

  @Column({ type: 'integer', name: 'pid' })
  pid!: number;

  @Column({ type: 'varchar', length: 10, name: 'status', default: 'active' })
  status!: WorkerStatus;

  @Column({ type: 'integer', name: 'max_concurrent_jobs' })
  maxConcurrentJobs!: number;

  @Column({ type: 'integer', name: 'max_cpu_units' })
  maxCpuUnits!: number;

  @Column({ type: 'integer', name: 'max_memory_mb' })
  maxMemoryMb!: number;

  @Column({ type: 'timestamptz', precision: 3, name: 'started_at', default: () => 'now()' })
  startedAt!: Date;

  @Column({ type: 'timestamptz', precision: 3, name: 'last_heartbeat_at', default: () => 'now()' })
  lastHeartbeatAt!: Date;

  @Column({ type: 'timestamptz', precision: 3, name: 'stopped_at', nullable: true })
  stoppedAt!: Date | null;

  /** The jobs the worker said it executes (or is starting), at its last heartbeat. */
  @Column({ type: 'uuid', array: true, name: 'executing_job_ids', default: () => "'{}'" })
  executingJobIds!: string[];

  /** The time of the heartbeat before the last: a job started before it must be in `executingJobIds`. */
  @Column({ type: 'timestamptz', precision: 3, name: 'previous_heartbeat_at', nullable: true })
  previousHeartbeatAt!: Date | null;

  /** The number of the last heartbeat applied (a late one of a lower number changes nothing); 0 at registration. */
  @Column({ type: 'bigint', name: 'heartbeat_seq', default: 0 })
  heartbeatSeq!: string;

  /** The registering process's random mark; its heartbeats and drain apply only while the row carries it. Null in rows of earlier versions. */
  @Column({ type: 'uuid', name: 'boot_token', nullable: true })
  bootToken!: string | null;

  /** The kernel's boot id and pid namespace of the registering process ('' unknown; null in rows of earlier versions). */
  @Column({ type: 'varchar', length: 200, name: 'pid_scope', nullable: true })
  pidScope!: string | null;
}
