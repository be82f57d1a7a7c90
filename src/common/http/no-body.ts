/** For endpoints that take no body (cancel, retry, trigger): none or `{}` is fine, any field is refused as unknown (DESIGN §6). */
import type { IncomingHttpHeaders } from 'node:http';
import { Body, Injectable, type PipeTransform } from '@nestjs/common';
import { ValidationFailedError } from '../errors/domain-error.js';
import { unknownFieldProblem } from './validation-problems.js';

@Injectable()
export class NoBodyPipe implements PipeTransform {
  transform(value: unknown): undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new ValidationFailedError([{ field: 'body', message: 'this endpoint takes no body: send none, or {}' }]);
    }
    const keys = Object.keys(value);
    if (keys.length > 0) throw new ValidationFailedError(keys.map((key) => unknownFieldProblem(key, key, [])));
    return undefined;
  }
}

/** The parameter decorator: `@NoBody() _body: undefined`. */
export const NoBody = (): ParameterDecorator => Body(NoBodyPipe);

/** Whether a request's headers announce a body: chunked, or a Content-Length other than 0. */
export function hasBody(headers: IncomingHttpHeaders): boolean {
  const length = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
