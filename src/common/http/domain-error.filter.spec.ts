import { describe, expect, it } from '@jest/globals';
import type { ArgumentsHost } from '@nestjs/common';
import { DomainErrorFilter } from './domain-error.filter.js';

/** A Fastify-like request and reply, recording what the filter answers. */
function hostFor(raw: Record<string, unknown>) {
  const sent: { status?: number; body?: Record<string, unknown>; headers?: Record<string, string> } = {};
  const reply = {
    sent: false,
    status(code: number) {
      sent.status = code;
      return reply;
    },
    header(name: string, value: string) {
      sent.headers = { ...sent.headers, [name.toLowerCase()]: value };
      return reply;
    },
    send(body: Record<string, unknown>) {
      sent.body = body;
      return reply;
    },
  };
  const host = { switchToHttp: () => ({ getRequest: () => ({ raw }), getResponse: () => reply }) } as unknown as ArgumentsHost;
  return { host, sent };
}

const connectionReset = (message: string) => Object.assign(new Error(message), { code: 'ECONNRESET' });

describe('DomainErrorFilter', () => {
  it('answers a body the client stopped sending as REQUEST_ABORTED, not as a database outage', () => {
    const { host, sent } = hostFor({ aborted: true });
    new DomainErrorFilter().catch(connectionReset('aborted'), host);
    expect(sent).toMatchObject({ status: 400, body: { code: 'REQUEST_ABORTED' } });
  });

  it('still answers a connection reset of the database with 503', () => {
    const { host, sent } = hostFor({ aborted: false });
    new DomainErrorFilter().catch(connectionReset('read ECONNRESET'), host);
    expect(sent).toMatchObject({ status: 503, body: { code: 'DATABASE_UNAVAILABLE' } });
  });

  it("says what a released query runner means instead of TypeORM's own words", () => {
    const { host, sent } = hostFor({ aborted: false });
    const released = Object.assign(new Error('Query runner already released. Cannot run queries anymore.'), { name: 'QueryRunnerAlreadyReleasedError' });
    new DomainErrorFilter().catch(released, host);
    expect(sent).toMatchObject({ status: 503, body: { code: 'DATABASE_UNAVAILABLE' } });
    expect(sent.body!.message).toMatch(/^PostgreSQL is unavailable \(the connection ended during the request\)/);
    expect(sent.body!.message).not.toContain('Query runner');
  });

  it('answers a transaction that lost every race it ran (a deadlock) with 409, not 500', () => {
    const { host, sent } = hostFor({});
    const deadlock = Object.assign(new Error('query failed'), { driverError: Object.assign(new Error('deadlock detected'), { code: '40P01' }) });
    new DomainErrorFilter().catch(deadlock, host);
    expect(sent).toMatchObject({ status: 409, body: { code: 'CONFLICT' } });
  });

  it('answers a statement PostgreSQL gave up for its time as QUERY_TIMEOUT, not as a database outage', () => {
    const { host, sent } = hostFor({});
    const cancelled = Object.assign(new Error('query failed'), {
      driverError: Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }),
      message: 'canceling statement due to statement timeout',
    });
    new DomainErrorFilter().catch(cancelled, host);
    expect(sent).toMatchObject({ status: 503, body: { code: 'QUERY_TIMEOUT', retry_after_seconds: 5 } });
    expect(String(sent.headers?.['retry-after'])).toBe('5');
    expect(sent.body!.message).toMatch(/^PostgreSQL gave up a statement of this request \(canceling statement due to statement timeout\): the request was not carried out/);
  });
});
