// Results written in groups: one private.record_send_results call (one transaction) per group,
// one group at a time, so groups grow with the load (fewer calls, plans and commits per row)
// while an idle writer starts within 5 ms. Callers await their own row.
import type { Result } from './types.ts';

const GROUP_MAX = 500;

interface Pending {
  r: Result;
  done: () => void;
  fail: (e: unknown) => void;
}

export function resultWriter(record: (group: Result[]) => Promise<void>) {
  let pending: Pending[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let writing = false;

  function schedule() {
    if (writing || !pending.length) return;
    if (pending.length >= GROUP_MAX) void writeGroup();
    else timer ??= setTimeout(() => void writeGroup(), 5);
  }

  async function writeGroup() {
    clearTimeout(timer);
    timer = undefined;
    if (writing) return;
    const group = pending.slice(0, GROUP_MAX);
    pending = pending.slice(group.length);
    if (!group.length) return;
    writing = true;
    try {
      await write(group);
    } finally {
      writing = false;
      // What arrived meanwhile has waited long enough.
      if (pending.length) void writeGroup();
    }
  }

  async function write(group: Pending[]) {
    try {
      await record(group.map((g) => g.r));
      for (const g of group) g.done();
    } catch (e) {
      // One bad row must not cost the others their write (they would wait out their lease and
      // be reconciled one Twilio lookup each): write them one by one.
      if (group.length === 1) return group[0].fail(e);
      for (const g of group) await write([g]);
    }
  }

  return {
    write(r: Result): Promise<void> {
      return new Promise((done, fail) => {
        pending.push({ r, done, fail });
        schedule();
      });
    },
    /** Starts writing what is pending now instead of after the timer. */
    writeGroup: () => void writeGroup(),
  };
}

export type ResultWriter = ReturnType<typeof resultWriter>;
