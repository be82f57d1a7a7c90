import { Injectable } from '@nestjs/common';
import {
  ArrayMaxSize,
  IsArray,
  IsObject,
  IsOptional,
  registerDecorator,
  type ValidationArguments,
  type ValidationOptions,
} from 'class-validator';
import { JobHandler, type JobContext, type JobHandlerContract, type RunningJob } from '../job-handler.decorator.js';
import { describeOperationProblems } from './data-processing.operations.js';

function IsOperationList(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isOperationList',
      target: target.constructor,
      propertyName: String(propertyName),
      options,
      validator: {
        validate: (value: unknown) => describeOperationProblems(value).length === 0,
        defaultMessage: (args: ValidationArguments) => `${args.property}: ${describeOperationProblems(args.value).join('; ')}`,
      },
    });
}

export class DataProcessingPayload {
  /** Records to process; when absent, the records of the dependencies' results. */
  @IsOptional() @IsArray() @ArrayMaxSize(1_000_000) @IsObject({ each: true, message: 'each record must be an object' })
  records?: Record<string, unknown>[];

  @IsArray() @ArrayMaxSize(100) @IsOperationList()
  operations!: unknown[];
}

/** filter / select / sort / group_by / limit over records (DESIGN §5). */
@Injectable()
@JobHandler('data_processing')
export class DataProcessingHandler implements JobHandlerContract<DataProcessingPayload> {
  readonly payloadType = DataProcessingPayload;

  async handle(_job: RunningJob<DataProcessingPayload>, _ctx: JobContext): Promise<unknown> {
    throw new Error('data_processing is not implemented yet (issue #6)');
  }
}
