import { Entity, PrimaryColumn } from 'typeorm';

/** Edge of the dependency DAG: `jobId` waits for `dependsOnId` to complete. */
@Entity({ name: 'job_dependencies' })
export class JobDependency {
  @PrimaryColumn({ type: 'uuid', name: 'job_id' })
  jobId!: string;

  @PrimaryColumn({ type: 'uuid', name: 'depends_on_id' })
  dependsOnId!: string;
}
