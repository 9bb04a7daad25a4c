/**
 * Settles like `work`, or rejects with `onTimeout()` once `ms` have passed. The work itself goes
 * on (a Redis command cannot be taken back): a caller told "timed out" must not assume nothing
 * happened.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
