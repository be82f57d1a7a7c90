import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path, { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApiProcess, stopAllProcesses, type ApiProcess } from '../support/processes.js';
import { createTestSpace } from '../support/test-app.js';
import { runTempDir } from '../support/test-env.js';

/**
 * The documentation's examples, run as a person pastes them, against the built service on a port
 * other than 8000. The rule (also in docs/architecture.md, "Tests"):
 *
 * - Every ```sh and ```bash block of README.md and of docs/*.md runs, alone, with `bash -euo pipefail`,
 *   `PORT` exported and the working folder holding the service's `data/` (exports, outbox); files in
 *   name order, blocks in document order. Every block must succeed.
 * - A ```js block whose first line is `// <name>.mjs` is saved under that name beside the project's
 *   node_modules and run with `node <name>.mjs`, with the same environment.
 * - A block is skipped when the line just above its fence is `<!-- not run by the README test: <reason> -->`
 *   (installing, starting a service, Docker).
 *
 * The service runs with DATA_FETCH_ALLOW_PRIVATE=true, as the worked pipeline (docs/job-types.md) says to.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SKIP = /^<!-- not run by the README test: .+ -->$/;
const BLOCK_TIMEOUT_MS = 90_000;

interface Example {
  file: string;
  line: number;
  lang: 'bash' | 'node';
  code: string;
  /** For node examples: the file name from the first line. */
  name?: string;
}

function examplesOf(file: string): Example[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const found: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const end = lines.indexOf('```', i + 1);
    if (end === -1) throw new Error(`${file}:${i + 1}: unclosed code block`);
    const body = lines.slice(i + 1, end);
    const skipped = i > 0 && SKIP.test(lines[i - 1]!.trim());
    const lang = open[1]!;
    if (!skipped && (lang === 'sh' || lang === 'bash')) {
      found.push({ file, line: i + 1, lang: 'bash', code: body.join('\n') });
    } else if (!skipped && lang === 'js') {
      const name = /^\/\/ ([\w-]+\.mjs)$/.exec(body[0] ?? '')?.[1];
      if (name) found.push({ file, line: i + 1, lang: 'node', code: body.join('\n'), name });
    }
    i = end;
  }
  return found;
}

const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
const examples = files.flatMap(examplesOf);

let api: ApiProcess;
let work: string;
const scriptDir = join(ROOT, 'test-output', 'readme-examples');

beforeAll(async () => {
  work = mkdtempSync(join(runTempDir(), 'readme-'));
  mkdirSync(scriptDir, { recursive: true });
  const space = await createTestSpace('readme');
  api = await startApiProcess(space, {
    ROLE: 'all',
    DATA_FETCH_ALLOW_PRIVATE: 'true',
    EXPORT_DIR: join(work, 'data', 'exports'),
    MAIL_OUTBOX_DIR: join(work, 'data', 'outbox'),
  });
}, 60_000);

afterAll(async () => {
  await stopAllProcesses();
});

function run(example: Example): Promise<{ code: number | null; output: string }> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', PORT: String(api.port) };
  if (process.env.HOME) env.HOME = process.env.HOME;
  let command: string;
  let args: string[];
  if (example.lang === 'bash') {
    command = 'bash';
    args = ['-euo', 'pipefail', '-c', example.code];
  } else {
    const script = join(scriptDir, example.name!);
    writeFileSync(script, example.code);
    command = process.execPath;
    args = [script];
  }
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), BLOCK_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('the documentation examples', () => {
  it('are found, and follow the rule: any port, curl that fails loudly, no <id> placeholders', () => {
    expect(api.port).not.toBe(8000);
    expect(examples.filter((e) => e.file === 'README.md').length).toBeGreaterThanOrEqual(5);
    expect(examples.some((e) => e.lang === 'node')).toBe(true);
    for (const e of examples.filter((x) => x.lang === 'bash')) {
      const where = `${e.file}:${e.line}`;
      const code = e.code
        .split('\n')
        .map((l) => l.replace(/(^|\s)#.*$/, '')) // comments may name placeholders
        .join('\n');
      expect([where, code.replace(/\$\{PORT:-8000\}/g, '')]).not.toEqual([where, expect.stringMatching(/:8000/)]);
      expect([where, code]).not.toEqual([where, expect.stringMatching(/curl -s (?!S)|curl -s$/m)]);
      expect([where, code]).not.toEqual([where, expect.stringMatching(/<[a-z_ ]*id[0-9]?>/)]);
    }
  });

  it.each(examples.map((e) => [`${e.file}:${e.line} (${e.lang})`, e] as const))('%s runs as pasted', async (_where, example) => {
    const { code, output } = await run(example);
    expect({ code, output: code === 0 ? '' : output }).toEqual({ code: 0, output: '' });
  }, BLOCK_TIMEOUT_MS + 10_000);
});
