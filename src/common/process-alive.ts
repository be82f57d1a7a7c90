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
