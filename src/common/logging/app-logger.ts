import type { LoggerService } from '@nestjs/common';
import { pino, type Level, type Logger as Pino } from 'pino';
import type { LogLevel, Role } from '../../config/env.schema.js';

/**
 * Nest's own boot chatter (module loading, route mapping, "application started"): one line per module
 * and per route, useful when debugging the wiring, noise otherwise. It is logged at debug level.
 */
const FRAMEWORK_CONTEXTS = new Set([
  'NestFactory',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'WebSocketsController',
  'NestApplication',
  'NestApplicationContext',
]);

/**
 * The one logger of a process: JSON lines through pino (no colours, so a file or a log collector gets
 * exactly what a terminal shows), behind Nest's LoggerService so that `new Logger(Context)` writes here.
 * Calls follow pino's order, an object of fields first: `logger.error({ err }, 'what failed')`.
 */
export class AppLogger implements LoggerService {
  constructor(readonly pino: Pino) {}

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }

  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }

  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }

  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }

  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }

  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }

  /**
   * Nest's Logger passes the context last (`new Logger('Main').log(msg)` arrives as `(msg, 'Main')`,
   * sometimes with an undefined in between); its exception handlers call `error(message, stack, context)`.
   */
  private write(level: Level, message: unknown, rest: unknown[]): void {
    const params = rest.filter((p) => p !== undefined);
    const context = params.length > 0 && typeof params[params.length - 1] === 'string' ? (params.pop() as string) : undefined;
    const effective = context !== undefined && FRAMEWORK_CONTEXTS.has(context) && (level === 'info' || level === 'trace') ? 'debug' : level;
    if (!this.pino.isLevelEnabled(effective)) return;
    const fields: Record<string, unknown> = context === undefined ? {} : { context };
    if (message instanceof Error) {
      this.pino[effective]({ ...fields, err: message }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      this.pino[effective]({ ...fields, ...(message as object) }, ...(params.map(String) as [string]));
    } else if (level === 'error' && typeof params[0] === 'string' && params[0].includes('\n    at ')) {
      const err = new Error(String(message));
      err.stack = params[0];
      this.pino[effective]({ ...fields, err }, String(message));
    } else {
      this.pino[effective](fields, [message, ...params].map(String).join(' '));
    }
  }
}

export function createAppLogger(config: { logLevel: LogLevel; role: Role }): AppLogger {
  return new AppLogger(pino({ level: config.logLevel, base: { role: config.role, pid: process.pid } }));
}
