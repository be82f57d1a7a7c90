// Where a scenario's CPU went: the service's process, the PostgreSQL and Redis servers on this machine,
// and the machine as a whole, read from /proc (Linux). Elsewhere every figure is null and left out.
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const TICK_MS = (() => {
  try {
    return 1000 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
  } catch {
    return 10; // CLK_TCK is 100 on every Linux this runs on
  }
})();

/** CPU time (user + system, every thread) of process `pid` in ms, or null once it has gone. */
function processCpuMs(pid) {
  try {
    // Fields after the command name (which may hold spaces, so split after its closing parenthesis):
    // utime and stime are the 12th and 13th of them.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop().split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return null;
  }
}

/** Pids whose command name is one of `names`. */
function pidsNamed(names) {
  const pids = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (names.includes(comm)) pids.set(Number(entry), comm);
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Busy and total jiffies of the whole machine (first line of /proc/stat). */
function machineJiffies() {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = values.map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

/**
 * A snapshot to diff later with `cpuPerJob`. PostgreSQL and Redis are counted per process: those alive
 * at the second snapshot (one started in between counts whole), so one that exits in between is missed;
 * every database's backends count (run the bench on a machine doing nothing else).
 */
export function cpuSnapshot(servicePid) {
  if (process.platform !== 'linux') return null;
  const servers = pidsNamed(['postgres', 'redis-server']);
  const perPid = new Map([...servers].map(([pid, comm]) => [pid, { comm, ms: processCpuMs(pid) }]));
  return { service: processCpuMs(servicePid), perPid, machine: machineJiffies() };
}

/**
 * CPU a job between two snapshots, in µs: `service`, `postgres`, `redis`, and the machine's busy share
 * (% of all its cores) over the interval. Null when there was no snapshot.
 */
export function cpuPerJob(before, after, jobs) {
  if (!before || !after || jobs <= 0) return null;
  const sum = (comm) => {
    let ms = 0;
    for (const [pid, { comm: c, ms: end }] of after.perPid) {
      if (c !== comm || end === null) continue;
      // A process started since the first snapshot (a connection the pool opened meanwhile) spent all its CPU in between.
      const start = before.perPid.get(pid)?.comm === comm ? before.perPid.get(pid).ms : 0;
      if (start !== null) ms += end - start;
    }
    return ms;
  };
  const perJob = (ms) => (ms * 1000) / jobs;
  const machine = after.machine.total - before.machine.total;
  return {
    service: before.service !== null && after.service !== null ? perJob(after.service - before.service) : null,
    postgres: perJob(sum('postgres')),
    redis: perJob(sum('redis-server')),
    machineBusyPct: machine > 0 ? (100 * (after.machine.busy - before.machine.busy)) / machine : null,
  };
}
