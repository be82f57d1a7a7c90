import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { IsInt, IsOptional, IsString, Min, MetadataStorage, registerDecorator, validateSync } from 'class-validator';
import { cacheValidationMetadata } from './validation-metadata-cache.js';

class Base {
  @IsString()
  name!: string;
}

class Derived extends Base {
  @IsOptional() @IsInt() @Min(1)
  count?: number;
}

const constraintsOf = (o: object) =>
  validateSync(o, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true }).map((e) => [e.property, Object.keys(e.constraints ?? {}).sort()]);

const make = <T extends object>(cls: new () => T, fields: Partial<T>): T => Object.assign(new cls(), fields);

describe(cacheValidationMetadata.name, () => {
  // The storage is process-wide: install on it as the app does, after checking what it answers without the cache.
  const before = {
    ok: constraintsOf(make(Derived, { name: 'a', count: 2 })),
    bad: constraintsOf(make(Derived, { name: 3 as unknown as string, count: 0 })),
    extra: constraintsOf(Object.assign(make(Derived, { name: 'a' }), { other: 1 })),
    base: constraintsOf(make(Base, { name: 1 as unknown as string })),
  };
  cacheValidationMetadata();

  it('gives the same answers as the uncached lookups, inherited metadata included', () => {
    expect(before.bad).toEqual([
      ['count', ['min']],
      ['name', ['isString']],
    ]);
    expect(constraintsOf(make(Derived, { name: 'a', count: 2 }))).toEqual(before.ok);
    expect(constraintsOf(make(Derived, { name: 3 as unknown as string, count: 0 }))).toEqual(before.bad);
    expect(constraintsOf(Object.assign(make(Derived, { name: 'a' }), { other: 1 }))).toEqual(before.extra);
    expect(constraintsOf(make(Base, { name: 1 as unknown as string }))).toEqual(before.base);
  });

  it('serves a repeated lookup from the cache, per class and options', () => {
    const storage = new MetadataStorage();
    let scans = 0;
    const original = storage.getTargetValidationMetadatas.bind(storage);
    storage.getTargetValidationMetadatas = (...args) => {
      scans += 1;
      return original(...args);
    };
    cacheValidationMetadata(storage);
    const first = storage.getTargetValidationMetadatas(Derived, '', false, false);
    expect(storage.getTargetValidationMetadatas(Derived, '', false, false, [])).toBe(first);
    expect(storage.groupByPropertyName(first)).toBe(storage.groupByPropertyName(first));
    storage.getTargetValidationMetadatas(Derived, '', true, false);
    storage.getTargetValidationMetadatas(Base, '', false, false);
    expect(scans).toBe(3);
  });

  it('forgets what it knows when metadata are added after it was installed', () => {
    class Late {
      value!: number;
    }
    expect(constraintsOf(make(Late, { value: 5 }))).toEqual([[undefined, ['unknownValue']]]);
    registerDecorator({
      name: 'isSmall',
      target: Late,
      propertyName: 'value',
      validator: { validate: (v: unknown) => typeof v === 'number' && v < 3 },
    });
    expect(constraintsOf(make(Late, { value: 5 }))).toEqual([['value', ['isSmall']]]);
    expect(constraintsOf(make(Late, { value: 1 }))).toEqual([]);
  });

  it('wraps a storage once however often it is installed', () => {
    const storage = new MetadataStorage();
    cacheValidationMetadata(storage);
    const wrapped = storage.getTargetValidationMetadatas;
    cacheValidationMetadata(storage);
    expect(storage.getTargetValidationMetadatas).toBe(wrapped);
  });
});
