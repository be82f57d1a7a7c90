import { Check, Entity, Index, PrimaryColumn } from 'typeorm';

/** Edge of the dependency DAG: `jobId` waits for `dependsOnId` to complete. */
@Entity({ name: 'job_dependencies' })
@Index('job_dependencies_depends_on_idx', { synchronize: false })
@Check('job_dependencies_not_self_check', '(job_id <> depends_on_id)')
export class JobDependency {
  @PrimaryColumn({ type: 'uuid', name: 'job_id' })
  jobId!: string;

  @PrimaryColumn({ type: 'uuid', name: 'depends_on_id' })
  dependsOnId!: string;
}
