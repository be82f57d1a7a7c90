import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer';
import { AppConfig } from '../../config/app-config.js';
import { writeFileAtomically } from './export-files.js';

export interface SentMail {
  message_id: string;
  delivery: 'smtp' | 'outbox';
  accepted: string[];
  rejected: string[];
  /** The .eml file (outbox delivery). */
  path?: string;
  bytes?: number;
  /** The server's last reply (SMTP delivery). */
  response?: string;
}

const stringsOf = (list: unknown): string[] =>
  Array.isArray(list) ? list.map((a) => (typeof a === 'string' ? a : String((a as { address?: unknown }).address ?? a))) : [];

/**
 * Sends mail with nodemailer: over SMTP when SMTP_URL is set, else builds the RFC 822 message and writes
 * it as `<job id>.eml` into MAIL_OUTBOX_DIR (so send_email works out of the box, and a retry replaces its file).
 */
@Injectable()
export class MailTransport implements OnApplicationShutdown {
  private transporter?: Transporter;

  constructor(private readonly config: AppConfig) {}

  get delivery(): 'smtp' | 'outbox' {
    return this.config.smtpUrl ? 'smtp' : 'outbox';
  }

  /** After the worker drained (BeforeApplicationShutdown): a message being sent keeps its connection until then. */
  onApplicationShutdown(): void {
    this.transporter?.close();
  }

  private transport(): Transporter {
    this.transporter ??= this.config.smtpUrl
      ? nodemailer.createTransport({ url: this.config.smtpUrl, connectionTimeout: 15_000, greetingTimeout: 15_000, socketTimeout: 60_000 })
      : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
    return this.transporter;
  }

  async send(message: SendMailOptions, outboxName: string): Promise<SentMail> {
    const info = await this.transport().sendMail(message);
    if (this.delivery === 'smtp') {
      return { message_id: info.messageId, delivery: 'smtp', accepted: stringsOf(info.accepted), rejected: stringsOf(info.rejected), response: info.response };
    }
    const file = await writeFileAtomically(this.config.mailOutboxDir, `${outboxName}.eml`, info.message as Buffer);
    return { message_id: info.messageId, delivery: 'outbox', accepted: stringsOf(info.envelope?.to), rejected: [], path: file.path, bytes: file.bytes };
  }
}
