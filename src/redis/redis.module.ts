import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { RedisConnections } from './redis-connections.js';

@Global()
@Module({
  providers: [
    {
      provide: RedisConnections,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => {
        if (!config.redisUrl) throw new Error('REDIS_URL is not set');
        return new RedisConnections(config.redisUrl, config.redisPrefix);
      },
    },
  ],
  exports: [RedisConnections],
})
export class RedisModule {}
