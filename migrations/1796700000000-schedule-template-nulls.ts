import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A `null` where a field may only be left out is refused since this version (`Omittable`): before, it
 * passed validation as if the field were absent. A schedule's stored job template is validated again
 * when it fires, so a template stored with such a `null` would have every tick skipped as invalid.
 * This removes those nulls, with the meaning they had: the template's own fields, and the first
 * level of its payload (the payload class's fields). Deeper levels are free-form JSON and stay as
 * stored. Nothing to undo: a removed null and an absent field meant the same.
 */
export class ScheduleTemplateNulls1796700000000 implements MigrationInterface {
  name = 'ScheduleTemplateNulls1796700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      WITH stripped AS (
        SELECT s.id,
               (SELECT coalesce(jsonb_object_agg(t.key, CASE
                         WHEN t.key = 'payload' AND jsonb_typeof(t.value) = 'object' THEN
                           (SELECT coalesce(jsonb_object_agg(p.key, p.value), '{}'::jsonb)
                              FROM jsonb_each(t.value) AS p WHERE p.value <> 'null'::jsonb)
                         ELSE t.value END), '{}'::jsonb)
                  FROM jsonb_each(s.job) AS t WHERE t.value <> 'null'::jsonb) AS job
          FROM schedules s
         WHERE jsonb_typeof(s.job) = 'object')
      UPDATE schedules s SET job = stripped.job
        FROM stripped
       WHERE s.id = stripped.id AND s.job IS DISTINCT FROM stripped.job`);
  }

  async down(): Promise<void> {
    // A removed null meant what an absent field means: nothing to restore.
  }
}
