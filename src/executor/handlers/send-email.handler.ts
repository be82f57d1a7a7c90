import { Injectable } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsBoolean, IsEmail, isEmail, IsString, Length, MaxLength, registerDecorator } from 'class-validator';
import { Omittable } from '../../common/omittable.js';
import { realpath, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AppConfig } from '../../config/app-config.js';
import { JobHandler, type DependencyResult, type JobContext, type JobHandlerContract, type RunningJob } from '../job-handler.decorator.js';
import { collectFiles, distinctDependencies } from './dependency-results.js';
import { asList, defaultText, DEFAULT_FROM, MAX_ATTACHMENT_BYTES, messageIdOf, planAttachments } from './mail-message.js';
import { MailTransport } from './mail-transport.service.js';

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
  @ApiProperty({
    oneOf: [{ type: 'string', format: 'email' }, { type: 'array', items: { type: 'string', format: 'email' }, minItems: 1, maxItems: 100 }],
    example: 'ada@example.com',
  })
  @IsEmailOrEmailList()
  to!: string | string[];

  @ApiPropertyOptional({ type: 'string', format: 'email', isArray: true, maxItems: 100 })
  @Omittable() @IsArray() @ArrayMaxSize(100) @IsEmail({}, { each: true, message: 'each address in cc must be an email address' })
  cc?: string[];

  @ApiPropertyOptional({ type: 'string', format: 'email', isArray: true, maxItems: 100 })
  @Omittable() @IsArray() @ArrayMaxSize(100) @IsEmail({}, { each: true, message: 'each address in bcc must be an email address' })
  bcc?: string[];

  @ApiPropertyOptional({ format: 'email', example: 'draconic@example.com' })
  @Omittable() @IsEmail({}, { message: 'from must be an email address' })
  from?: string;

  @ApiProperty({ minLength: 1, maxLength: 200, example: 'Your report' })
  @IsString() @Length(1, 200)
  subject!: string;

  @ApiPropertyOptional({ maxLength: 1_000_000, example: 'It is attached.' })
  @Omittable() @IsString() @MaxLength(1_000_000)
  text?: string;

  @ApiPropertyOptional({ maxLength: 1_000_000 })
  @Omittable() @IsString() @MaxLength(1_000_000)
  html?: string;

  /** Attach the files the job's dependencies produced (exports, reports). */
  @ApiPropertyOptional({ type: 'boolean', default: false, description: "Attach the files the job's dependencies produced (exports, reports)." })
  @Omittable() @IsBoolean()
  attach_dependency_files?: boolean;
}

/**
 * Sends mail through SMTP_URL, or writes a .eml file to MAIL_OUTBOX_DIR (DESIGN §5). With
 * attach_dependency_files it attaches the files its dependencies produced (their results' `path`, `paths`
 * and `files[].path`) that lie inside EXPORT_DIR. Every attempt of a job sends the same Message-ID
 * (`<job id>@draconic`). Result: `{message_id, delivery, accepted, rejected, attachments, path?}`.
 */
@Injectable()
@JobHandler('send_email')
export class SendEmailHandler implements JobHandlerContract<SendEmailPayload> {
  readonly payloadType = SendEmailPayload;

  constructor(
    private readonly mail: MailTransport,
    private readonly config: AppConfig,
  ) {}

  async handle(job: RunningJob<SendEmailPayload>, ctx: JobContext): Promise<unknown> {
    const p = job.payload;
    const dependencies = distinctDependencies(ctx.dependencyResults);
    const attachments = p.attach_dependency_files ? await this.attachments(dependencies, ctx) : [];
    const to = asList(p.to);
    ctx.signal.throwIfAborted();
    const sent = await this.mail.send(
      {
        from: p.from ?? DEFAULT_FROM,
        to,
        cc: p.cc,
        bcc: p.bcc,
        subject: p.subject,
        text: p.text ?? (p.html ? undefined : defaultText(job.id, attachments, dependencies.length)),
        html: p.html,
        attachments: attachments.map(({ filename, path }) => ({ filename, path })),
        headers: { 'X-Draconic-Job-Id': job.id },
        // One Message-ID for every attempt: a receiving system can drop the copy a retry sends again.
        messageId: messageIdOf(ctx.idempotencyKey),
        // A cancel, the job's timeout or a lost lease ends the SMTP connection at once: the server
        // cannot take the message once the job has ended (and a retry send it again).
        signal: ctx.signal,
      },
      job.id,
    );
    const recipients = to.length + (p.cc?.length ?? 0) + (p.bcc?.length ?? 0);
    await ctx.log.info(
      `${sent.delivery === 'smtp' ? 'sent over SMTP' : `wrote ${sent.path}`} to ${recipients} recipient(s) with ${attachments.length} attachment(s)`,
      { message_id: sent.message_id, delivery: sent.delivery, accepted: sent.accepted.length, rejected: sent.rejected.length },
    );
    return { ...sent, attachments: attachments.map(({ filename, path, bytes }) => ({ filename, path, bytes })) };
  }

  /** The dependencies' files inside EXPORT_DIR (compared as real paths), each checked to exist. */
  private async attachments(dependencies: DependencyResult[], ctx: JobContext): Promise<Array<{ filename: string; path: string; bytes: number }>> {
    const exportDir = await realpath(this.config.exportDir).catch(() => resolve(this.config.exportDir));
    const files = await Promise.all(collectFiles(dependencies).map(async (f) => ({ ...f, path: await realpath(f.path).catch(() => resolve(f.path)) })));
    const plan = planAttachments(files, exportDir);
    if (plan.refused.length) await ctx.log.warn(`not attaching ${plan.refused.length} file(s) outside EXPORT_DIR`, { paths: plan.refused });
    if (plan.attach.length === 0) await ctx.log.warn('attach_dependency_files is set, but the dependencies produced no file to attach');
    const out = [];
    let total = 0;
    for (const file of plan.attach) {
      const info = await stat(file.path).catch(() => null);
      if (!info?.isFile()) {
        throw new Error(`attachment ${file.path} (from job ${file.jobId}) is missing: is EXPORT_DIR shared by the workers?`);
      }
      total += info.size;
      if (total > MAX_ATTACHMENT_BYTES) throw new Error(`the attachments weigh more than ${MAX_ATTACHMENT_BYTES} bytes together`);
      out.push({ filename: file.filename, path: file.path, bytes: info.size });
    }
    return out;
  }
}
