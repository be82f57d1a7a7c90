import { Global, Module } from '@nestjs/common';
import { RedisConnections } from '../redis/redis-connections.js';
import { JobEventBus } from './job-event-bus.js';
import { RedisJobEventBus } from './redis-job-event-bus.js';

@Global()
@Module({
  providers: [
    {
      provide: JobEventBus,
      inject: [RedisConnections],
      useFactory: (redis: RedisConnections) =>
        new RedisJobEventBus(redis.client, () => redis.open('events-subscriber'), redis.key('job-events')),
    },
  ],
  exports: [JobEventBus],
})
export class EventsModule {}
