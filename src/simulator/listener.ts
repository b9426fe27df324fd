/**
 * A listening socket opened before the simulator is loaded: its caller knows the simulator's
 * address at once, and the simulator (startSimulator's `listener` option) serves every
 * connection from it, including those that arrived while it was loading, which wait unread.
 */
import { createServer, type Server, type Socket } from 'node:net';

export interface SimListener {
  port: number;
  /** Hands every waiting and future connection to `serve` (once). */
  attach(serve: (socket: Socket) => void): void;
  close(): Promise<void>;
}

/** `onWaiting` is called for each connection that arrives before `attach` (e.g. to start the simulator). */
export function openListener(host = '127.0.0.1', onWaiting?: () => void): Promise<SimListener> {
  const waiting: Socket[] = [];
  let serve: ((socket: Socket) => void) | undefined;
  // Paused: nothing is read from a socket before the server that parses it has it.
  const server: Server = createServer({ pauseOnConnect: true }, (socket) => {
    if (serve) serve(socket);
    else {
      waiting.push(socket);
      socket.once('close', () => waiting.splice(waiting.indexOf(socket) >>> 0, 1));
      onWaiting?.();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      let closed: Promise<void> | undefined;
      resolve({
        port: (server.address() as { port: number }).port,
        attach(fn) {
          serve ??= fn;
          for (const s of waiting.splice(0)) fn(s);
        },
        close() {
          closed ??= new Promise<void>((r) => server.close(() => r()));
          for (const s of waiting.splice(0)) s.destroy();
          return closed;
        },
      });
    });
  });
}
