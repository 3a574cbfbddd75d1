/**
 * `work`'s answer, or undefined after `ms`, whichever comes first. The timer is cleared either way,
 * so a time limit never outlives its answer: a bare `sleep` raced against the work holds the
 * process open for the rest of the limit (a stopping `capline process` lived on 2 s for that).
 * A rejection of `work` is passed on.
 */
export async function within<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
