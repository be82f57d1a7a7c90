import { Injectable } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsString, Length, Matches } from 'class-validator';
import { Omittable } from '../../common/omittable.js';
import { AppConfig } from '../../config/app-config.js';
import { JobHandler, type JobContext, type JobHandlerContract, type RunningJob } from '../job-handler.decorator.js';
import { distinctDependencies } from './dependency-results.js';
import { writeFileAtomically } from './export-files.js';
import { slug } from './file-paths.js';
import { buildReportView, renderHtml, renderMarkdown } from './report-rendering.js';

export const REPORT_FORMATS = ['markdown', 'html'] as const;

export class ReportGenerationPayload {
  @ApiProperty({ minLength: 1, maxLength: 100, pattern: '^[a-z][a-z0-9_]*$', example: 'daily_summary' })
  @IsString() @Length(1, 100) @Matches(/^[a-z][a-z0-9_]*$/, { message: 'report_type must be snake_case, e.g. daily_summary' })
  report_type!: string;

  /** The day the report covers (title and file name); default: today (UTC). */
  @ApiPropertyOptional({ format: 'date', example: '2024-01-15', description: 'The day the report covers (title and file name); default today (UTC).' })
  @Omittable() @IsISO8601({ strict: true }, { message: 'date must be an ISO-8601 date, e.g. 2024-01-15' })
  date?: string;

  @ApiPropertyOptional({ minLength: 1, maxLength: 200, example: 'Daily summary' })
  @Omittable() @IsString() @Length(1, 200)
  title?: string;

  /** Write only this format; default: both. */
  @ApiPropertyOptional({ enum: REPORT_FORMATS, description: 'Write only this format; default both.' })
  @Omittable() @IsIn(REPORT_FORMATS, { message: `format must be one of: ${REPORT_FORMATS.join(', ')}` })
  format?: (typeof REPORT_FORMATS)[number];
}

/**
 * Builds a report on the job's dependencies (DESIGN §5): counts, a table of the dependencies, the files
 * they produced and the first rows of each record list, as Markdown and HTML (or the one `format` asks
 * for) under EXPORT_DIR. Result: `{report_type, date, title, paths, files, dependencies, records, exports}`.
 */
@Injectable()
@JobHandler('report_generation')
export class ReportGenerationHandler implements JobHandlerContract<ReportGenerationPayload> {
  readonly payloadType = ReportGenerationPayload;

  constructor(private readonly config: AppConfig) {}

  async handle(job: RunningJob<ReportGenerationPayload>, ctx: JobContext): Promise<unknown> {
    const { report_type: reportType, title, format } = job.payload;
    const generatedAt = new Date();
    const date = job.payload.date ?? generatedAt.toISOString().slice(0, 10);
    const view = buildReportView({ reportType, date, title, jobId: job.id, generatedAt, dependencies: distinctDependencies(ctx.dependencyResults) });
    await ctx.log.info(`summarising ${view.totals.dependencies} dependencies: ${view.totals.records} records, ${view.totals.exports} files`);
    const formats = format ? [format] : REPORT_FORMATS;
    const stem = `${slug(reportType)}-${slug(date)}-${job.id}`;
    const files = [];
    for (const [i, f] of formats.entries()) {
      ctx.signal.throwIfAborted();
      const content = f === 'markdown' ? renderMarkdown(view) : renderHtml(view);
      const file = await writeFileAtomically(this.config.exportDir, `${stem}.${f === 'markdown' ? 'md' : 'html'}`, content);
      files.push({ ...file, format: f });
      await ctx.progress(((i + 1) / formats.length) * 100);
    }
    await ctx.log.info(`wrote ${files.map((f) => f.path).join(' and ')}`, { bytes: files.map((f) => f.bytes) });
    return {
      report_type: reportType,
      date,
      title: view.title,
      paths: files.map((f) => f.path),
      files,
      dependencies: view.totals.dependencies,
      records: view.totals.records,
      exports: view.totals.exports,
    };
  }
}
