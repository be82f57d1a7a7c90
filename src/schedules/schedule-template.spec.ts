import { describe, expect, it } from '@jest/globals';
import { parseConfig } from '../config/load-config.js';
import { JobDraftFactory } from '../jobs/job-draft.factory.js';
import { JobTypeCatalog } from '../jobs/job-type-catalog.js';
import { ScheduleTemplate } from './schedule-template.js';

function template(): ScheduleTemplate {
  const catalog = new JobTypeCatalog();
  catalog.register('noop', undefined);
  return new ScheduleTemplate(new JobDraftFactory(parseConfig({}), catalog));
}

describe('ScheduleTemplate.draftFor', () => {
  const id = '0190f000-0000-7000-8000-000000000001';
  const tick = new Date('2026-01-15T10:00:00Z');

  it('gives every tick a job of its own, from the template with its defaults', () => {
    const t = template();
    const a = t.draftFor({ id, job: { type: 'noop', priority: 'low' } }, tick);
    const b = t.draftFor({ id, job: { type: 'noop', priority: 'low' } }, new Date(tick.getTime() + 1000));
    expect(a.id).not.toBe(b.id);
    expect([a.priority, a.scheduleId, a.scheduledFor]).toEqual(['low', id, tick]);
    expect(b.scheduledFor).toEqual(new Date(tick.getTime() + 1000));
  });

  it('follows a changed template of the same schedule', () => {
    const t = template();
    expect(t.draftFor({ id, job: { type: 'noop', priority: 'low' } }, tick).priority).toBe('low');
    expect(t.draftFor({ id, job: { type: 'noop', priority: 'high' } }, tick).priority).toBe('high');
  });

  it('refuses a template that is no longer valid', () => {
    const t = template();
    expect(() => t.draftFor({ id, job: { type: 'gone' } }, tick)).toThrow();
  });
});
