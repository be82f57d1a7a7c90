import { Injectable } from '@nestjs/common';
import { IsIn, IsISO8601, IsOptional, IsString, Length, Matches } from 'class-validator';
import { JobHandler, type JobContext, type JobHandlerContract, type RunningJob } from '../job-handler.decorator.js';

export const REPORT_FORMATS = ['markdown', 'html'] as const;

export class ReportGenerationPayload {
  @IsString() @Length(1, 100) @Matches(/^[a-z][a-z0-9_]*$/, { message: 'report_type must be snake_case, e.g. daily_summary' })
  report_type!: string;

  @IsOptional() @IsISO8601({ strict: true }, { message: 'date must be an ISO-8601 date, e.g. 2024-01-15' })
  date?: string;

  @IsOptional() @IsString() @Length(1, 200)
  title?: string;

  @IsOptional() @IsIn(REPORT_FORMATS, { message: `format must be one of: ${REPORT_FORMATS.join(', ')}` })
  format?: (typeof REPORT_FORMATS)[number];
}

/** Builds a report from the dependencies' results into EXPORT_DIR (DESIGN §5). */
@Injectable()
@JobHandler('report_generation')
export class ReportGenerationHandler implements JobHandlerContract<ReportGenerationPayload> {
  readonly payloadType = ReportGenerationPayload;

  async handle(_job: RunningJob<ReportGenerationPayload>, _ctx: JobContext): Promise<unknown> {
    throw new Error('report_generation is not implemented yet (issue #6)');
  }
}
