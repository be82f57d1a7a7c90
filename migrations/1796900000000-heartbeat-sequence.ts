import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `workers.heartbeat_seq`: the number of the worker process's last heartbeat applied. A worker gives
 * up waiting on a heartbeat stuck on a silent connection, or queued behind busy ones, and sends the next
 * one on another connection; the one it gave up on may still reach PostgreSQL later. Each heartbeat
 * carries its number and is applied only above the last one, so a late one cannot put back an older
 * list of executing jobs (from which the leader would judge a job started since as lost). Registration
 * sets it back to 0.
 */
export class HeartbeatSequence1796900000000 implements MigrationInterface {
  name = 'HeartbeatSequence1796900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "workers" ADD "heartbeat_seq" bigint NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "workers" DROP COLUMN "heartbeat_seq"`);
  }
}
