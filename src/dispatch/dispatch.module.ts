import { Global, Module } from '@nestjs/common';
import { RedisConnections } from '../redis/redis-connections.js';
import { BullJobDispatcher } from './bull-job-dispatcher.js';
import { BullQueues } from './bull-queues.js';
import { JobDispatcher } from './job-dispatcher.js';

@Global()
@Module({
  providers: [
    { provide: BullQueues, inject: [RedisConnections], useFactory: (redis: RedisConnections) => new BullQueues(redis) },
    { provide: JobDispatcher, inject: [BullQueues], useFactory: (bull: BullQueues) => new BullJobDispatcher(bull) },
  ],
  exports: [JobDispatcher, BullQueues],
})
export class DispatchModule {}
