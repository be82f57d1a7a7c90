import { describe, expect, it } from '@jest/globals';
import { isInsideDir, resolveInside, slug } from './file-paths.js';

describe(isInsideDir.name, () => {
  it.each([
    ['/data/exports', '/data/exports/a.csv', true],
    ['/data/exports', 'a.csv', true],
    ['/data/exports/', '/data/exports/sub/a.csv', true],
    ['/data/exports', '/data/exports', false],
    ['/data/exports', '/data/exports-other/a.csv', false],
    ['/data/exports', '/data/exports/../outbox/a.eml', false],
    ['/data/exports', '/etc/passwd', false],
    ['/data/exports', '../a.csv', false],
  ])('%s holds %s: %s', (dir, file, inside) => {
    expect(isInsideDir(dir, file)).toBe(inside);
  });
});

describe(resolveInside.name, () => {
  it('gives the absolute path of a plain name', () => {
    expect(resolveInside('/data/exports', 'report-1.csv')).toBe('/data/exports/report-1.csv');
  });

  it.each(['../x', '..', '.', '.hidden', 'a/b', 'a\\b', '/etc/passwd', '', 'a b', 'x'.repeat(201)])('refuses %j', (name) => {
    expect(() => resolveInside('/data/exports', name)).toThrow(/plain file name/);
  });
});

describe(slug.name, () => {
  it.each([
    ['daily_summary', 'daily_summary'],
    ['2024-01-15T10:00:00Z', '2024-01-15T10-00-00Z'],
    ['../../x', 'x'],
    ['***', 'file'],
  ])('%s -> %s', (text, expected) => {
    expect(slug(text)).toBe(expected);
  });
});
