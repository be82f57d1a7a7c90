import { Injectable } from '@nestjs/common';
import { IsIn, IsInt, IsObject, IsOptional, IsString, IsUrl, Max, MaxLength, Min, ValidateIf } from 'class-validator';
import { JobHandler, type JobContext, type JobHandlerContract, type RunningJob } from '../job-handler.decorator.js';

export const FETCH_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const;

export class DataFetchPayload {
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false }, { message: 'url must be an http(s) URL' })
  @MaxLength(2048)
  url!: string;

  @IsOptional() @IsIn(FETCH_METHODS)
  method?: (typeof FETCH_METHODS)[number];

  @IsOptional() @IsObject()
  headers?: Record<string, string>;

  /** A string is sent as is; an object is sent as JSON. */
  @IsOptional() @ValidateIf((_, v) => typeof v === 'string') @IsString() @MaxLength(1_000_000)
  body?: string | Record<string, unknown>;

  @IsOptional() @IsInt() @Min(1) @Max(600_000)
  timeout_ms?: number;

  @IsOptional() @IsInt() @Min(1) @Max(100 * 1024 * 1024)
  max_bytes?: number;

  @IsOptional() @IsInt() @Min(0) @Max(20)
  max_redirects?: number;
}

/** HTTP request with time and size limits (DESIGN §5). */
@Injectable()
@JobHandler('data_fetch')
export class DataFetchHandler implements JobHandlerContract<DataFetchPayload> {
  readonly payloadType = DataFetchPayload;

  async handle(_job: RunningJob<DataFetchPayload>, _ctx: JobContext): Promise<unknown> {
    throw new Error('data_fetch is not implemented yet (issue #6)');
  }
}
