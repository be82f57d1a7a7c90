import { createHash, randomUUID } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { resolveInside } from './file-paths.js';

export interface WrittenFile {
  path: string;
  file_name: string;
  bytes: number;
  sha256: string;
}

/**
 * Writes a file under dir atomically: a hidden temp file beside it, flushed to disk, then renamed over
 * the final name. Readers see the old file or the whole new one, never a part; a retry rewrites it.
 */
export async function writeFileAtomically(dir: string, fileName: string, content: string | Buffer): Promise<WrittenFile> {
  const target = resolveInside(dir, fileName);
  await mkdir(dir, { recursive: true });
  const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const temp = join(dir, `.${fileName}.${randomUUID()}.tmp`);
  try {
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  return { path: target, file_name: fileName, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
}

/**
 * The folders the built-in handlers write to, checked when a process that runs jobs boots: EXPORT_DIR
 * (data_export, report_generation) and, without SMTP_URL, MAIL_OUTBOX_DIR (send_email). A folder that
 * cannot be created or written would otherwise boot fine and fail every such job, one by one. Returns
 * one problem per folder, naming its variable; creates the folders that are missing.
 */
export function outputDirProblems(dirs: Array<{ variable: string; dir: string }>): string[] {
  const problems: string[] = [];
  for (const { variable, dir } of dirs) {
    try {
      makeFolders(dir);
      accessSync(dir, constants.W_OK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      problems.push(`${variable}=${JSON.stringify(dir)}: cannot be created or written (${code}); the built-in job types write their files there: choose a writable folder`);
    }
  }
  return problems;
}

/**
 * `mkdir -p` one folder at a time: Node's recursive mkdirSync never returns for a path under a folder
 * that refuses new entries with ENOENT (`/proc/x`: it keeps creating the parent, which exists).
 */
function makeFolders(dir: string): void {
  const missing: string[] = [];
  for (let path = resolve(dir); !existsSync(path); path = dirname(path)) {
    missing.unshift(path);
    if (dirname(path) === path) break;
  }
  for (const path of missing) mkdirSync(path);
}
