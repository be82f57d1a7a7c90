/**
 * `work`'s value when it settles within `ms`, else `late` (a rejection within `ms` is passed on). The
 * timer is cleared as soon as either side wins, and keeps no process alive meanwhile.
 */
export async function within<T, L>(work: Promise<T>, ms: number, late: L): Promise<T | L> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<L>((resolve) => {
    timer = setTimeout(() => resolve(late), ms);
    timer.unref();
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
