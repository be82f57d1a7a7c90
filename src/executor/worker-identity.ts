import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { AppConfig } from '../config/app-config.js';

/** Who this worker process is and what it offers (DESIGN §4). */
export class WorkerIdentity {
  readonly id: string;
  readonly host = hostname();
  readonly pid = process.pid;
  readonly maxConcurrentJobs: number;
  readonly maxCpuUnits: number;
  readonly maxMemoryMb: number;

  constructor(config: AppConfig) {
    this.id = config.workerId ?? `${this.host}-${this.pid}-${randomBytes(2).toString('hex')}`;
    this.maxConcurrentJobs = config.maxConcurrentJobs;
    this.maxCpuUnits = config.maxCpuUnits;
    this.maxMemoryMb = config.maxMemoryMb;
  }
}
