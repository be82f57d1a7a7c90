import { Module, type DynamicModule, type Type } from '@nestjs/common';
import { JobStreamGateway } from './job-stream.gateway.js';

/**
 * Live updates over Socket.IO (api and all roles). The gateway reads only the JobEventBus and, for
 * replay, a JobEventLog: `eventLog` is the module that provides it (the composition root names it).
 */
@Module({})
export class GatewayModule {
  static replayingFrom(eventLog: Type<unknown>): DynamicModule {
    return { module: GatewayModule, imports: [eventLog], providers: [JobStreamGateway] };
  }
}
