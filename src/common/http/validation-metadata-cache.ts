import { getMetadataStorage, type MetadataStorage } from 'class-validator';

type Lookup = MetadataStorage['getTargetValidationMetadatas'];
type ValidationMetadata = ReturnType<Lookup>[number];
type Grouped = Record<string, ValidationMetadata[]>;

const INSTALLED = Symbol.for('draconic.validationMetadataCache');

/**
 * Memoizes class-validator's two metadata lookups on its (process-wide) storage.
 *
 * On every `validate()` of every object, nested ones included, class-validator works out afresh which
 * metadata apply to the object's class: it filters the class's own, walks every class that has any
 * (an `instanceof` each) to collect inherited ones, then groups the result by property. The answer only
 * changes when metadata are added (decorators running as modules load, `registerSchema`). Under
 * `POST /jobs` load that work was about a fifth of the ValidationPipe's allocations, part of the garbage
 * that made GC a quarter of the process's CPU (measured with V8's sampling heap profiler, 20,000 requests).
 *
 * The cache keys are the class (or schema name) and the options the lookup depends on; anything added to
 * the storage clears it. The executor only reads what it gets back (it filters into new arrays), so one
 * array can serve every call. Idempotent: installing twice wraps once.
 */
export function cacheValidationMetadata(storage: MetadataStorage = getMetadataStorage()): void {
  const target = storage as MetadataStorage & { [INSTALLED]?: true };
  if (target[INSTALLED]) return;
  target[INSTALLED] = true;

  const lookup: Lookup = storage.getTargetValidationMetadatas.bind(storage);
  const group = storage.groupByPropertyName.bind(storage);
  const addValidation = storage.addValidationMetadata.bind(storage);
  const addConstraint = storage.addConstraintMetadata.bind(storage);
  let lookups = new Map<Function | string, Map<string, ValidationMetadata[]>>();
  let groups = new WeakMap<ValidationMetadata[], Grouped>();
  const forget = (): void => {
    lookups = new Map();
    groups = new WeakMap();
  };

  target.getTargetValidationMetadatas = (targetConstructor, targetSchema, always, strictGroups, onlyGroups) => {
    // An absent and an empty group list select the same metadata (the lookup only tests `groups?.length`).
    const key = `${targetSchema ?? ''}\u0000${always}\u0000${strictGroups}\u0000${(onlyGroups ?? []).join('\u0000')}`;
    let forTarget = lookups.get(targetConstructor);
    if (!forTarget) lookups.set(targetConstructor, (forTarget = new Map()));
    let found = forTarget.get(key);
    if (!found) forTarget.set(key, (found = lookup(targetConstructor, targetSchema, always, strictGroups, onlyGroups)));
    return found;
  };
  target.groupByPropertyName = (metadata) => {
    let grouped = groups.get(metadata);
    if (!grouped) groups.set(metadata, (grouped = group(metadata)));
    return grouped;
  };
  target.addValidationMetadata = (metadata) => {
    forget();
    addValidation(metadata);
  };
  target.addConstraintMetadata = (metadata) => {
    forget();
    addConstraint(metadata);
  };
}
