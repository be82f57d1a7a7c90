import { ValidateIf } from 'class-validator';

/**
 * A request field the client may leave out. class-validator's `IsOptional` skips `null` as well as a
 * missing field, so a `null` reached code that treats only `undefined` as absent (a 500). With this
 * decorator a `null` is validated like any other value, and refused unless the field's decorators
 * accept it. Fields where `null` means something (remove a bound, lift a limit) keep `IsOptional`.
 */
export const Omittable = (): PropertyDecorator => ValidateIf((_object: object, value: unknown) => value !== undefined);
