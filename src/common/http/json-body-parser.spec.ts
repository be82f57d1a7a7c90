import { describe, expect, it } from '@jest/globals';
import { unsupportedMediaTypeMessage } from './json-body-parser.js';

describe(unsupportedMediaTypeMessage.name, () => {
  it('names a form body as what curl -d sends, and the header to send instead', () => {
    expect(unsupportedMediaTypeMessage('application/x-www-form-urlencoded')).toBe(
      'the request body was sent as "application/x-www-form-urlencoded", which is what curl -d sends unless told otherwise: ' +
        `send the body as JSON with the header "Content-Type: application/json" (curl: -H 'Content-Type: application/json')`,
    );
  });

  it('names another type without its parameters', () => {
    expect(unsupportedMediaTypeMessage('Text/Plain; charset=utf-8')).toMatch(/^the request body was sent as "text\/plain": send the body as JSON/);
  });

  it.each([[undefined], [''], ['  ']])('says when there is no Content-Type (%p)', (contentType) => {
    expect(unsupportedMediaTypeMessage(contentType)).toBe('the request body has no Content-Type: send the body as JSON with the header "Content-Type: application/json"');
  });
});
