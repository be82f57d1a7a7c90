import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { UnknownJobTypeError } from '../common/errors/domain-error.js';
import { JobTypeCatalog } from '../jobs/job-type-catalog.js';
import { JobHandler, type JobHandlerContract } from './job-handler.decorator.js';

/** Finds every @JobHandler provider at boot; a type with two handlers stops the boot. */
@Injectable()
export class JobHandlerRegistry implements OnModuleInit {
  private readonly byType = new Map<string, JobHandlerContract>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly catalog: JobTypeCatalog,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders({ metadataKey: JobHandler.KEY })) {
      const type = this.discovery.getMetadataByDecorator(JobHandler, wrapper);
      if (!type) continue;
      const handler = wrapper.instance as JobHandlerContract | undefined;
      if (!handler || typeof handler.handle !== 'function') {
        throw new Error(`${wrapper.name} is marked @JobHandler('${type}') but has no handle(job, ctx) method`);
      }
      const taken = this.byType.get(type);
      if (taken) throw new Error(`job type "${type}" has two handlers: ${taken.constructor.name} and ${wrapper.name}; keep one`);
      this.byType.set(type, handler);
      this.catalog.register(type, handler.payloadType, handler.checkPayload && ((payload) => handler.checkPayload!(payload)));
    }
    if (this.byType.size === 0) throw new Error('no @JobHandler providers found: add handlers to ExecutorModule');
  }

  get(type: string): JobHandlerContract {
    const handler = this.byType.get(type);
    if (!handler) throw new UnknownJobTypeError(type, [...this.byType.keys()]);
    return handler;
  }

  types(): string[] {
    return [...this.byType.keys()];
  }
}
