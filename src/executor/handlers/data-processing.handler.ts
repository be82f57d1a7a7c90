import { Injectable } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsArray,
  IsObject,
  registerDecorator,
  type ValidationArguments,
  type ValidationOptions,
} from 'class-validator';
import { Omittable } from '../../common/omittable.js';
import { JobHandler, type JobContext, type JobHandlerContract, type RunningJob } from '../job-handler.decorator.js';
import { applyOperation, describeOperationProblems, type Operation } from './data-processing.operations.js';
import { collectRecords, columnsOf, distinctDependencies, type DataRecord } from './dependency-results.js';

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
  @ApiPropertyOptional({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    maxItems: 1_000_000,
    example: [{ user_id: 123, amount: 30 }, { user_id: 7, amount: 5 }],
    description: "Records to process; when absent, the records of the dependencies' results.",
  })
  @Omittable() @IsArray() @ArrayMaxSize(1_000_000) @IsObject({ each: true, message: 'each record must be an object' })
  records?: Record<string, unknown>[];

  @ApiProperty({
    type: 'array',
    maxItems: 100,
    items: {
      type: 'object',
      required: ['op'],
      properties: { op: { type: 'string', enum: ['filter', 'select', 'sort', 'group_by', 'limit'] } },
      additionalProperties: true,
    },
    example: [{ op: 'group_by', by: 'user_id', aggregates: [{ fn: 'sum', field: 'amount', as: 'total' }] }, { op: 'sort', by: 'total', order: 'desc' }],
    description:
      'Run in order: filter {field, operator, value}, select {fields}, sort {by, order?}, group_by {by, aggregates: [{fn, field?, as?}]}, limit {count}.',
  })
  @IsArray() @ArrayMaxSize(100) @IsOperationList()
  operations!: unknown[];
}

/**
 * filter / select / sort / group_by / limit over records (DESIGN §5): `payload.records` when given, else
 * the records of the dependencies' results (see collectRecords). Result: `{records, columns, count, input_count, source, steps}`
 * (`columns` keeps the key order, which the stored jsonb loses).
 */
@Injectable()
@JobHandler('data_processing')
export class DataProcessingHandler implements JobHandlerContract<DataProcessingPayload> {
  readonly payloadType = DataProcessingPayload;

  async handle(job: RunningJob<DataProcessingPayload>, ctx: JobContext): Promise<unknown> {
    const operations = job.payload.operations as Operation[];
    let rows: DataRecord[];
    let source: 'payload' | 'dependencies';
    if (job.payload.records) {
      rows = job.payload.records;
      source = 'payload';
    } else {
      const dependencies = distinctDependencies(ctx.dependencyResults);
      const collected = collectRecords(dependencies);
      rows = collected.records;
      source = 'dependencies';
      await ctx.log.info(`took ${rows.length} records from ${collected.fromIds.length} of ${dependencies.length} dependencies`, {
        dependency_ids: collected.fromIds,
        skipped_non_objects: collected.skipped,
      });
      if (collected.fromIds.length === 0) await ctx.log.warn('no dependency result carries records (an array, records, body or body.records/items/data)');
    }
    const inputCount = rows.length;
    const steps: Array<{ op: string; rows: number }> = [];
    for (const [i, operation] of operations.entries()) {
      ctx.signal.throwIfAborted();
      rows = applyOperation(rows, operation);
      steps.push({ op: operation.op, rows: rows.length });
      await ctx.progress(((i + 1) / operations.length) * 100);
    }
    await ctx.log.info(`processed ${inputCount} records into ${rows.length} with ${operations.length} operations`, { source, steps });
    return { records: rows, columns: columnsOf(rows), count: rows.length, input_count: inputCount, source, steps };
  }
}
