import { describe, expect, it } from '@jest/globals';
import type { Worker } from '../../resources/entities/worker.entity.js';
import { roomsOf } from './scheduling.js';
import { neverFitReason, sizeBound } from './never-fits.js';

const worker = (id: string, status: Worker['status'], cpu: number, memory: number): Worker =>
  ({ id, status, maxConcurrentJobs: 4, maxCpuUnits: cpu, maxMemoryMb: memory }) as Worker;
const LIMITS = { cpuUnits: 8, memoryMb: 4096 };

describe(sizeBound.name, () => {
  it('is the largest cpu and the largest memory of the accepting workers, each on its own', () => {
    const rooms = roomsOf([worker('a', 'active', 4, 1024), worker('b', 'active', 2, 2048), worker('c', 'draining', 8, 4096)], new Map());
    expect(sizeBound(rooms, LIMITS)).toEqual({ cpuUnits: 4, memoryMb: 2048 });
  });

  it('leaves nothing out when no worker accepts jobs, or when the largest are as large as a job may ask', () => {
    expect(sizeBound(roomsOf([worker('c', 'draining', 2, 1024)], new Map()), LIMITS)).toBeNull();
    expect(sizeBound([], LIMITS)).toBeNull();
    expect(sizeBound(roomsOf([worker('a', 'active', 8, 1024), worker('b', 'active', 2, 4096)], new Map()), LIMITS)).toBeNull();
  });
});

describe(neverFitReason.name, () => {
  it('says what every accepting worker lacks even empty, whatever it runs now', () => {
    const booked = new Map([['a', { slots: 4, cpuUnits: 2, memoryMb: 512 }]]);
    const reason = neverFitReason({ cpuUnits: 4, memoryMb: 128 }, roomsOf([worker('a', 'active', 2, 1024), worker('b', 'draining', 8, 4096)], booked));
    expect(reason).toEqual({
      code: 'INSUFFICIENT_RESOURCES',
      message: '0/1 workers fit: 1 insufficient cpu_units',
      workers: 1,
      lacking: { slots: 0, cpu_units: 1, memory_mb: 0 },
      never_fits: { cpu_units: 1, memory_mb: 0 },
      requested: { cpu_units: 4, memory_mb: 128 },
    });
  });
});
