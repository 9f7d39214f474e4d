// Port helpers: the dev stack uses Supabase's fixed ports, tests take free ones.

/** True when nothing listens on 127.0.0.1:`port`. */
export async function portIsFree(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: '127.0.0.1', port });
    conn.close();
    return false;
  } catch {
    // Nothing accepted: also make sure we could bind it ourselves.
    try {
      const l = Deno.listen({ hostname: '127.0.0.1', port });
      l.close();
      return true;
    } catch {
      return false;
    }
  }
}

/** A port the OS says is free right now. */
export function freePort(): number {
  const l = Deno.listen({ hostname: '127.0.0.1', port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
