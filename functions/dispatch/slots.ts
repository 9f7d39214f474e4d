// Send slots shared by every claim loop of one invocation.

/**
 * At most `size` sends at once across all rounds of a drain; the rest wait in order. `room(n)`
 * resolves once fewer than `n` sends are waiting: the moment to claim the next batch, so that
 * senders never run dry between rounds while claimed rows stay under their lease in the database
 * rather than queueing here. One claimer at a time gets room, and the batch it is about to add
 * counts as waiting until it calls the release it was given (after handing its sends over).
 */
export function sendSlots(size: number) {
  let active = 0;
  let reserved = 0;
  const waiting: (() => void)[] = [];
  const claimers: { n: number; resolve: (release: () => void) => void }[] = [];
  const wakeClaimer = () => {
    const c = claimers[0];
    if (!c || waiting.length + reserved >= c.n) return;
    claimers.shift();
    reserved += c.n;
    let released = false;
    c.resolve(() => {
      if (released) return;
      released = true;
      reserved -= c.n;
      wakeClaimer();
    });
  };
  return {
    async run<T>(fn: () => Promise<T>): Promise<T> {
      if (active < size) active++;
      else await new Promise<void>((r) => waiting.push(r));
      try {
        return await fn();
      } finally {
        // The slot passes straight to the next waiting send.
        const next = waiting.shift();
        if (next) next();
        else active--;
        wakeClaimer();
      }
    },
    room(n: number): Promise<() => void> {
      return new Promise((resolve) => {
        claimers.push({ n, resolve });
        wakeClaimer();
      });
    },
  };
}

export type SendSlots = ReturnType<typeof sendSlots>;
