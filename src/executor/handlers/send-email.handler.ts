import { Injectable } from '@nestjs/common';
import { ArrayMaxSize, IsArray, IsBoolean, IsEmail, isEmail, IsOptional, IsString, Length, MaxLength, registerDecorator } from 'class-validator';
import { JobHandler, type JobContext, type JobHandlerContract, type RunningJob } from '../job-handler.decorator.js';

function IsEmailOrEmailList(): PropertyDecorator {
  const valid = (v: unknown) =>
    typeof v === 'string'
      ? isEmail(v)
      : Array.isArray(v) && v.length >= 1 && v.length <= 100 && v.every((a) => typeof a === 'string' && isEmail(a));
  return (target, propertyName) =>
    registerDecorator({
      name: 'isEmailOrEmailList',
      target: target.constructor,
      propertyName: String(propertyName),
      validator: {
        validate: valid,
        defaultMessage: () => `${String(propertyName)} must be an email address or a list of 1 to 100 email addresses`,
      },
    });
}

export class SendEmailPayload {
  /** One address or a list of (up to 100) addresses. */
  @IsEmailOrEmailList()
  to!: string | string[];

  @IsOptional() @IsArray() @ArrayMaxSize(100) @IsEmail({}, { each: true, message: 'each address in cc must be an email address' })
  cc?: string[];

  @IsOptional() @IsArray() @ArrayMaxSize(100) @IsEmail({}, { each: true, message: 'each address in bcc must be an email address' })
  bcc?: string[];

  @IsOptional() @IsEmail({}, { message: 'from must be an email address' })
  from?: string;

  @IsString() @Length(1, 200)
  subject!: string;

  @IsOptional() @IsString() @MaxLength(1_000_000)
  text?: string;

  @IsOptional() @IsString() @MaxLength(1_000_000)
  html?: string;

  /** Attach the files the job's dependencies produced (exports, reports). */
  @IsOptional() @IsBoolean()
  attach_dependency_files?: boolean;
}

/** Sends mail through SMTP_URL, or writes .eml files to MAIL_OUTBOX_DIR (DESIGN §5). */
@Injectable()
@JobHandler('send_email')
export class SendEmailHandler implements JobHandlerContract<SendEmailPayload> {
  readonly payloadType = SendEmailPayload;

  async handle(_job: RunningJob<SendEmailPayload>, _ctx: JobContext): Promise<unknown> {
    throw new Error('send_email is not implemented yet (issue #6)');
  }
}
