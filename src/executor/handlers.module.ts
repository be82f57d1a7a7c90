import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { JobsModule } from '../jobs/jobs.module.js';
import { JobHandlerRegistry } from './job-handler.registry.js';
import { BUILT_IN_HANDLERS } from './handlers/index.js';
import { MailTransport } from './handlers/mail-transport.service.js';

/**
 * The job handlers and their registry, loaded in every role: the API validates payloads against the
 * handlers' payload classes, and the workers run them.
 */
@Module({
  imports: [DiscoveryModule, JobsModule],
  providers: [JobHandlerRegistry, MailTransport, ...BUILT_IN_HANDLERS],
  exports: [JobHandlerRegistry],
})
export class HandlersModule {}
