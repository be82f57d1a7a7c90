import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Which process holds a workers row, beyond its host and pid:
 * - `boot_token`: a random mark each worker process sets when it registers. Its heartbeats and the
 *   writes of its drain apply only while the row still carries it, so a process whose WORKER_ID was
 *   taken over (it was frozen or cut off past its lease, and another process registered under the id)
 *   learns so at its next beat and stops, instead of beating on beside the new holder. A registration
 *   takes the row only from a holder it judged gone (its token), a stopped or lost one, or itself.
 * - `pid_scope`: the kernel's boot id and the pid namespace of the process, so that a process booting
 *   under the same id asks the kernel about the holder's pid only when that pid means the same there
 *   (two containers of one host name are each pid 1). NULL in rows of earlier versions.
 */
export class WorkerBootToken1797000000000 implements MigrationInterface {
  name = 'WorkerBootToken1797000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "workers" ADD "boot_token" uuid`);
    await q.query(`ALTER TABLE "workers" ADD "pid_scope" character varying(200)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "workers" DROP COLUMN "pid_scope"`);
    await q.query(`ALTER TABLE "workers" DROP COLUMN "boot_token"`);
  }
}
