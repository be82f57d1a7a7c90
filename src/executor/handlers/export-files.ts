import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
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
