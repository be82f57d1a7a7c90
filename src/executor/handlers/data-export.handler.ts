import { Injectable } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsBoolean, IsIn, IsInt, IsObject, IsString, Matches, Max, MaxLength, Min, ValidateBy } from 'class-validator';
import { Omittable } from '../../common/omittable.js';
import { AppConfig } from '../../config/app-config.js';
import { JobHandler, type JobContext, type JobHandlerContract, type RunningJob } from '../job-handler.decorator.js';
import { collectRecords, distinctDependencies, type DataRecord } from './dependency-results.js';
import { writeFileAtomically } from './export-files.js';
import { defaultExportName, EXPORT_FORMATS, recordsOfUser, renderRecords, type ExportFormat } from './export-format.js';
import { PLAIN_FILE_NAME } from './file-paths.js';

export { EXPORT_FORMATS };

export class DataExportPayload {
  @ApiProperty({ enum: EXPORT_FORMATS, example: 'csv' })
  @IsIn(EXPORT_FORMATS, { message: `format must be one of: ${EXPORT_FORMATS.join(', ')}` })
  format!: ExportFormat;

  /** Records to write; when absent, the records of the dependencies' results. */
  @ApiPropertyOptional({ type: 'array', items: { type: 'object', additionalProperties: true }, maxItems: 1_000_000, description: "Records to write; when absent, the records of the dependencies' results." })
  @Omittable() @IsArray() @ArrayMaxSize(1_000_000) @IsObject({ each: true, message: 'each record must be an object' })
  records?: DataRecord[];

  /** A plain file name under EXPORT_DIR (no folders); default `[user-<user_id>-]export-<job id>.<format>`. */
  @ApiPropertyOptional({ maxLength: 200, pattern: PLAIN_FILE_NAME.source, example: 'users.csv', description: 'A plain file name under EXPORT_DIR; default [user-<user_id>-]export-<job id>.<format>.' })
  @Omittable() @IsString() @MaxLength(200)
  @Matches(PLAIN_FILE_NAME, { message: 'filename must be a plain file name (letters, digits, . _ -; no folders, not starting with a dot)' })
  filename?: string;

  /** Columns, in order (dotted paths allowed); default: the columns the dependencies declare, then the records' other keys. */
  @ApiPropertyOptional({ type: 'string', isArray: true, maxItems: 1000, example: ['user_id', 'amount'], description: "Columns in order (dotted paths allowed); default: the dependencies' columns, then any other key." })
  @Omittable() @IsArray() @ArrayMaxSize(1000) @IsString({ each: true }) @MaxLength(200, { each: true })
  fields?: string[];

  /** Seed example: export this user's records only (those whose `user_id` equals it); also names the file. */
  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, example: 123, description: "Export only this user's records (user_id equal to it); also names the file." })
  @Omittable() @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER)
  user_id?: number;

  /** CSV only: text cells that a spreadsheet would run as a formula are written with a leading `'`. */
  @ApiPropertyOptional({
    type: 'boolean', default: false,
    description: "CSV only: a text cell starting with = + - @, a tab or a carriage return is written with a leading ' so that a spreadsheet shows it instead of running it as a formula (CSV injection). Numbers are left as they are.",
  })
  @Omittable() @IsBoolean()
  @ValidateBy({
    name: 'escapeFormulasCsvOnly',
    validator: {
      validate: (value, args) => value !== true || (args?.object as DataExportPayload).format === 'csv',
      defaultMessage: () => 'escape_formulas applies to format csv only',
    },
  })
  escape_formulas?: boolean;
}

/** The result's `note` when the export had no records to take: where they come from. */
export const NO_RECORDS_NOTE =
  'no records to export: give them in payload.records, or submit this job with depends_on naming a job whose result ' +
  'carries records (a data_fetch of a JSON array, a data_processing); the file holds only the header row';

/**
 * Writes records to a file under EXPORT_DIR (DESIGN §5), atomically. Records: `payload.records`, else
 * those of the dependencies' results; with `user_id`, only that user's. Result:
 * `{path, file_name, format, rows, columns, bytes, sha256, source, user_id?, note?}`. With no records
 * from anywhere it still writes a file to open: the header row (`fields`, else `user_id` for a user's
 * export) in a CSV, `[]` in JSON, and `note` says how to supply records. No record is ever made up.
 */
@Injectable()
@JobHandler('data_export')
export class DataExportHandler implements JobHandlerContract<DataExportPayload> {
  readonly payloadType = DataExportPayload;

  constructor(private readonly config: AppConfig) {}

  async handle(job: RunningJob<DataExportPayload>, ctx: JobContext): Promise<unknown> {
    const { format, fields, user_id: userId } = job.payload;
    let records: DataRecord[];
    let source: 'payload' | 'dependencies' | 'none';
    let columnOrder: string[] = [];
    if (job.payload.records) {
      records = job.payload.records;
      source = 'payload';
    } else {
      const collected = collectRecords(distinctDependencies(ctx.dependencyResults));
      records = collected.records;
      columnOrder = collected.columns;
      source = collected.fromIds.length > 0 ? 'dependencies' : 'none';
      if (source === 'none') await ctx.log.warn(NO_RECORDS_NOTE);
      else await ctx.log.info(`took ${records.length} records from ${collected.fromIds.length} dependencies`, { dependency_ids: collected.fromIds });
    }
    if (userId !== undefined) {
      const before = records.length;
      records = recordsOfUser(records, userId);
      await ctx.log.info(`kept the ${records.length} of ${before} records whose user_id is ${userId}`);
    }
    // A user's export names its user's column even when there is no row to show.
    if (records.length === 0 && columnOrder.length === 0 && userId !== undefined) columnOrder = ['user_id'];
    ctx.signal.throwIfAborted();
    const { content, columns } = renderRecords(records, format, { fields, columnOrder, escapeFormulas: job.payload.escape_formulas });
    await ctx.progress(50);
    const fileName = job.payload.filename ?? defaultExportName(job.id, format, userId);
    const file = await writeFileAtomically(this.config.exportDir, fileName, content);
    await ctx.progress(100);
    await ctx.log.info(`wrote ${records.length} rows as ${format} to ${file.path} (${file.bytes} bytes)`, { rows: records.length, bytes: file.bytes, sha256: file.sha256 });
    return {
      ...file,
      format,
      rows: records.length,
      columns,
      source,
      ...(userId === undefined ? {} : { user_id: userId }),
      ...(source === 'none' ? { note: NO_RECORDS_NOTE } : {}),
    };
  }
}
