/** What send_email puts in a message: recipients, the files to attach, a default body. Pure: no I/O. */
import { basename } from 'node:path';
import type { ProducedFile } from './dependency-results.js';
import { isInsideDir } from './file-paths.js';

export const DEFAULT_FROM = 'draconic <draconic@localhost>';
/** The most a message's attachments may weigh together (SMTP servers commonly refuse more). */
export const MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024;

/** The Message-ID of a job's message, the same on every attempt (RFC 5322 msg-id, angle brackets included). */
export const messageIdOf = (idempotencyKey: string): string => `<${idempotencyKey}@draconic>`;

export const asList = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

export interface AttachmentPlan {
  attach: Array<{ filename: string; path: string; jobId: string }>;
  /** Paths outside the export folder: never attached, whatever a dependency's result says. */
  refused: string[];
}

/**
 * The produced files that may be attached: only those inside `exportDir` (a result is data, and must not
 * be able to mail out an arbitrary file of the worker). Paths are compared as given; pass real paths.
 * Two files with the same base name get ` (2)`, ` (3)` … so the recipient can tell them apart.
 */
export function planAttachments(files: Array<Pick<ProducedFile, 'path' | 'jobId'>>, exportDir: string): AttachmentPlan {
  const plan: AttachmentPlan = { attach: [], refused: [] };
  const used = new Map<string, number>();
  for (const file of files) {
    if (!isInsideDir(exportDir, file.path)) {
      plan.refused.push(file.path);
      continue;
    }
    const name = basename(file.path);
    const n = (used.get(name) ?? 0) + 1;
    used.set(name, n);
    const filename = n === 1 ? name : name.replace(/(\.[^.]*)?$/, (ext) => ` (${n})${ext}`);
    plan.attach.push({ filename, path: file.path, jobId: file.jobId });
  }
  return plan;
}

/** The plain-text body when the payload gives neither text nor html: what the message carries and why. */
export function defaultText(jobId: string, attachments: Array<{ filename: string }>, dependencies: number): string {
  const lines = [`Sent by draconic job ${jobId}${dependencies ? ` after ${dependencies} dependenc${dependencies === 1 ? 'y' : 'ies'}` : ''}.`];
  if (attachments.length) lines.push('', 'Attached:', ...attachments.map((a) => `- ${a.filename}`));
  return `${lines.join('\n')}\n`;
}
