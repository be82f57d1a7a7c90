import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { JOB_STATUSES, type JobStatus } from '../../jobs/domain/job-state.js';

/**
 * Jobs per type and status, folded from the deltas (DESIGN §12 `counts`). Written only by the
 * triggers of the migration and the leader's fold; declared so that `migration:generate` agrees.
 */
@Entity({ name: 'job_counts' })
export class JobCountRow {
  @PrimaryColumn({ type: 'varchar', length: 100, name: 'type' })
  type!: string;

  @PrimaryColumn({ type: 'enum', enum: JOB_STATUSES, enumName: 'job_status', name: 'status' })
  status!: JobStatus;

  @Column({ type: 'bigint', name: 'count', default: 0 })
  count!: string;
}

/** The net change of one statement on `jobs` to a (type, status) count, not folded yet. */
@Entity({ name: 'job_count_deltas' })
export class JobCountDeltaRow {
  @PrimaryGeneratedColumn({ type: 'bigint', name: 'id' })
  id!: string;

  @Column({ type: 'varchar', length: 100, name: 'type' })
  type!: string;

  @Column({ type: 'enum', enum: JOB_STATUSES, enumName: 'job_status', name: 'status' })
  status!: JobStatus;

  @Column({ type: 'bigint', name: 'delta' })
  delta!: string;
}
