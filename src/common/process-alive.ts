import { readFileSync, readlinkSync } from 'node:fs';

/**
 * Whether a process of this pid namespace lives: signal 0 checks without sending anything (EPERM: it
 * lives, under another user). A pid says nothing across namespaces (containers) or machines.
 */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Where this process's pid means something: the kernel's boot id and the pid namespace. Two processes
 * may ask the kernel about each other's pid only when both are equal (not across containers, where node
 * is pid 1 in each, nor across machines or reboots). Empty strings where /proc does not tell them.
 */
export function pidPlace(): { bootId: string; pidns: string } {
  let pidns = '';
  let bootId = '';
  try {
    pidns = readlinkSync('/proc/self/ns/pid');
  } catch {
    // not Linux
  }
  try {
    bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    // not Linux
  }
  return { bootId, pidns };
}
