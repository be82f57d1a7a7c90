import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { AppLogger } from './app-logger.js';

function capture(level: 'info' | 'debug') {
  const lines: Array<Record<string, any>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: new AppLogger(pino({ level, base: null }, stream)), lines };
}

describe(AppLogger.name, () => {
  it("logs Nest's boot chatter at debug, so an info log has none of it", () => {
    const { logger, lines } = capture('info');
    logger.log('AppModule dependencies initialized', 'InstanceLoader');
    logger.log('Mapped {/jobs, POST} route', 'RouterExplorer');
    logger.log('worker w1 ready', 'WorkerAgent');
    expect(lines.map((l) => l.msg)).toEqual(['worker w1 ready']);
    expect(lines[0]).toMatchObject({ level: 30, context: 'WorkerAgent' });
  });

  it('keeps the chatter at debug level', () => {
    const { logger, lines } = capture('debug');
    logger.log('Mapped {/jobs, POST} route', 'RouterExplorer');
    expect(lines).toEqual([expect.objectContaining({ level: 20, context: 'RouterExplorer', msg: 'Mapped {/jobs, POST} route' })]);
  });

  it('takes fields first, then the message, as pino does', () => {
    const { logger, lines } = capture('info');
    logger.error({ err: new Error('boom'), jobId: 'j1' }, 'scheduling pass failed', 'SchedulerService');
    expect(lines[0]).toMatchObject({ level: 50, context: 'SchedulerService', jobId: 'j1', msg: 'scheduling pass failed', err: { message: 'boom' } });
  });

  it("reads Nest's error(message, stack, context) as an error with its stack", () => {
    const { logger, lines } = capture('info');
    logger.error('listen failed', 'Error: listen failed\n    at Server.listen (node:net:1)', 'ExceptionHandler');
    expect(lines[0]).toMatchObject({ level: 50, context: 'ExceptionHandler', msg: 'listen failed', err: { stack: expect.stringContaining('at Server.listen') } });
  });

  it('drops the undefined Nest passes before a context', () => {
    const { logger, lines } = capture('info');
    logger.warn('careful', undefined, 'Main');
    expect(lines[0]).toMatchObject({ level: 40, context: 'Main', msg: 'careful' });
  });
});
