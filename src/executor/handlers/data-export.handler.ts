import { Injectable } from '@nestjs/common';
import { ArrayMaxSize, IsArray, IsIn, IsInt, IsObject, IsOptional, IsString, Matches, MaxLength, Min } from 'class-validator';
import { JobHandler, type JobContext, type JobHandlerContract, type RunningJob } from '../job-handler.decorator.js';

export const EXPORT_FORMATS = ['csv', 'json', 'ndjson'] as const;

export class DataExportPayload {
  @IsIn(EXPORT_FORMATS, { message: `format must be one of: ${EXPORT_FORMATS.join(', ')}` })
  format!: (typeof EXPORT_FORMATS)[number];

  /** Records to write; when absent, the records of the dependencies' results. */
  @IsOptional() @IsArray() @ArrayMaxSize(1_000_000) @IsObject({ each: true, message: 'each record must be an object' })
  records?: Record<string, unknown>[];

  /** A plain file name under EXPORT_DIR (no folders). */
  @IsOptional() @IsString() @MaxLength(200)
  @Matches(/^(?!\.)[A-Za-z0-9._-]+$/, { message: 'filename must be a plain file name (letters, digits, . _ -; no folders, not starting with a dot)' })
  filename?: string;

  /** Columns, in order (CSV); default: the union of the records' keys. */
  @IsOptional() @IsArray() @ArrayMaxSize(1000) @IsString({ each: true })
  fields?: string[];

  /** Seed example: tags the export as this user's (file name and result). */
  @IsOptional() @IsInt() @Min(0)
  user_id?: number;
}

/** Writes records to a file under EXPORT_DIR (DESIGN §5). */
@Injectable()
@JobHandler('data_export')
export class DataExportHandler implements JobHandlerContract<DataExportPayload> {
  readonly payloadType = DataExportPayload;

  async handle(_job: RunningJob<DataExportPayload>, _ctx: JobContext): Promise<unknown> {
    throw new Error('data_export is not implemented yet (issue #6)');
  }
}
