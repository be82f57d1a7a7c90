import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module.js';
import { JobStreamGateway } from './job-stream.gateway.js';

/** Live updates over Socket.IO (api and all roles). */
@Module({
  imports: [JobsModule],
  providers: [JobStreamGateway],
})
export class GatewayModule {}
