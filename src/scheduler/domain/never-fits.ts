/**
 * Ready jobs that no worker can hold even empty (DESIGN §4): a worker may register with less than
 * the API lets a job ask for. Such a job is left out of the ready reads, or a few thousand of them
 * would fill every pass's window and the look behind it for good, and the jobs queued after them
 * would wait forever without a reason; it gets its reason in bulk instead. Pure: no I/O.
 */
import { explainWaiting, type Reason, type WorkerRoom } from '../../resources/domain/placement.js';

/**
 * The most cpu and the most memory any accepting worker has, each its own maximum (a job within both
 * may fit one worker, and planning checks that; one beyond either fits none), or null when nothing is
 * to be left out: when no worker accepts jobs (each job read is told so, as before), and when the
 * largest workers are as large as the API lets a job ask for (`limits`: MAX_CPU_UNITS, MAX_MEMORY_MB),
 * the usual case (workers register with those very settings), where the reads and their plans stay as
 * they are and no reason is written in bulk. `rooms` are the workers as read, without the ones passed
 * over for a while: a job that only they can hold stays in the reads, as it fits again once they are back.
 */
export function sizeBound(rooms: readonly WorkerRoom[], limits: { cpuUnits: number; memoryMb: number }): { cpuUnits: number; memoryMb: number } | null {
  const accepting = rooms.filter((w) => w.accepting);
  if (accepting.length === 0) return null;
  const bound = {
    cpuUnits: Math.max(...accepting.map((w) => w.capacity.cpuUnits)),
    memoryMb: Math.max(...accepting.map((w) => w.capacity.memoryMb)),
  };
  return bound.cpuUnits >= limits.cpuUnits && bound.memoryMb >= limits.memoryMb ? null : bound;
}

/**
 * The reason of every ready job of one size beyond the bound: the workers' capacities against it
 * (what each lacks even empty, and `never_fits`), so it stays the same whatever runs meanwhile and
 * is written once, not again at every refresh.
 */
export function neverFitReason(size: { cpuUnits: number; memoryMb: number }, rooms: readonly WorkerRoom[]): Reason {
  const empty = rooms.map((w) => ({ ...w, allocated: { slots: 0, cpuUnits: 0, memoryMb: 0 } }));
  return explainWaiting({ id: '', cpuUnits: size.cpuUnits, memoryMb: size.memoryMb, starving: false }, empty);
}
