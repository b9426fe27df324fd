/**
 * Everything this server started (the gateway process, its watchdog, headless browsers) is
 * registered here. Orderly stops happen through App.close (stdin closed, SIGINT, SIGTERM: see
 * src/mcp/stdio.ts); as a last resort everything still registered is killed synchronously on
 * process exit. The gateway's watchdog covers the case where this process is killed outright.
 */

export interface Owned {
  /** Orderly stop. */
  stop(): Promise<void>;
  /** Immediate, synchronous kill (process 'exit' handler). */
  killNow(): void;
}

const owned = new Set<Owned>();
let installed = false;
let stopping: Promise<void> | undefined;

export function own(o: Owned): () => void {
  owned.add(o);
  install();
  return () => {
    owned.delete(o);
  };
}

export function ownedCount(): number {
  return owned.size;
}

/** Stops everything registered, each bounded by `timeoutMs`. */
export function stopAll(timeoutMs = 8000): Promise<void> {
  if (!stopping) {
    const all = [...owned];
    stopping = Promise.all(
      all.map((o) =>
        Promise.race([o.stop().catch(() => {}), new Promise<void>((r) => setTimeout(r, timeoutMs).unref())]).then(
          () => {
            owned.delete(o);
          },
        ),
      ),
    )
      .then(() => {})
      .finally(() => {
        stopping = undefined;
      });
  }
  return stopping;
}

function install(): void {
  if (installed) return;
  installed = true;
  process.once('exit', () => {
    for (const o of owned) {
      try {
        o.killNow();
      } catch {
        // exiting anyway
      }
    }
  });
}
