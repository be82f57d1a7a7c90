import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `schedules.paused_at`, `schedules.resumed_at`: when the schedule was last paused and last resumed
 * (DESIGN §11: ticks while paused are dropped). The firing judges each tick paused as of the tick's
 * own instant, not as of the moment it handles the tick: a tick that fell while the schedule was paused
 * stays dropped when the leader reaches it only after the resume, and one that fell before the pause
 * fires as it would have. Both are set by PATCH and PUT when `paused` flips (and by a create that
 * starts paused), never by the firing.
 *
 * Rows paused before this version get `paused_at` null: when they were paused is not known, so every
 * tick up to their resume counts as paused, as every tick handled while paused did before.
 */
export class SchedulePauseSpan1796800000000 implements MigrationInterface {
  name = 'SchedulePauseSpan1796800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "schedules" ADD "paused_at" TIMESTAMP(3) WITH TIME ZONE`);
    await q.query(`ALTER TABLE "schedules" ADD "resumed_at" TIMESTAMP(3) WITH TIME ZONE`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "schedules" DROP COLUMN "resumed_at"`);
    await q.query(`ALTER TABLE "schedules" DROP COLUMN "paused_at"`);
  }
}
