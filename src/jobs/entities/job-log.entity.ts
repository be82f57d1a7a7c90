import { Check, Column, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type JobLogLevel = (typeof LOG_LEVELS)[number];

/**
 * A job's log line, or an event it published. Primary key (job_id, id): lines are only read by job, in
 * id order (migration 1795900000000).
 */
@Entity({ name: 'job_logs' })
@Index('job_logs_job_sequence_key', { synchronize: false })
@Check('job_logs_level_check', `((level)::text = ANY ((ARRAY['debug'::character varying, 'info'::character varying, 'warn'::character varying, 'error'::character varying])::text[]))`)
export class JobLog {
  @PrimaryGeneratedColumn({ type: 'bigint', name: 'id' })
  id!: string;

  @PrimaryColumn({ type: 'uuid', name: 'job_id' })
  jobId!: string;

  @Column({ type: 'timestamptz', precision: 3, name: 'created_at', default: () => 'now()' })
  createdAt!: Date;

  @Column({ type: 'varchar', length: 5, name: 'level' })
  level!: JobLogLevel;

  @Column({ type: 'text', name: 'message' })
  message!: string;

  @Column({ type: 'integer', name: 'attempt', default: 0 })
  attempt!: number;

  @Column({ type: 'jsonb', name: 'data', nullable: true })
  data!: Record<string, unknown> | null;

  /** The event this line published (DESIGN §7), with `data` = the event's data; null for handler log lines. */
  @Column({ type: 'varchar', length: 30, name: 'event', nullable: true })
  event!: string | null;

  /** The job's event sequence number of that event. */
  @Column({ type: 'integer', name: 'sequence', nullable: true })
  sequence!: number | null;
}
