import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { AppConfig } from '../config/app-config.js';
import { pidPlace } from '../common/process-alive.js';

/** Who this worker process is and what it offers (DESIGN §4). */
export class WorkerIdentity {
  readonly id: string;
  readonly host = hostname();
  readonly pid = process.pid;
  /**
   * This process's mark on its workers row: set by its registration, checked by its heartbeats and its
   * drain's writes. A row whose mark is another's was taken over by another process under this id.
   */
  readonly bootToken = randomUUID();
  /** Where `pid` means something (the kernel's boot id and the pid namespace), '' where /proc does not tell. */
  readonly pidScope = pidScopeOf(pidPlace());
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

/** The `pid_scope` of a workers row: empty when either part is unknown. */
export function pidScopeOf({ bootId, pidns }: { bootId: string; pidns: string }): string {
  return bootId && pidns ? `${bootId} ${pidns}` : '';
}
