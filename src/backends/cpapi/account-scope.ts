/**
 * IB scopes some reads to the session's selected account (POST /iserver/account): partitioned
 * P&L, live orders and order status. Selecting an account and reading must therefore happen as
 * one step: while one call reads account A, no other call may switch the session to B.
 *
 * AccountScope is that lock. Calls for the account that holds it share it (they need no switch
 * and may run together); a call for another account waits until every holder has left, then
 * calls for its account go, in arrival order. A call waiting for an account never lets later
 * calls for the current account pass it, so no account starves.
 */
import { BrokerError } from '../../broker/errors.js';

interface Waiting {
  account: string;
  go: () => void;
}

export class AccountScope {
  private current: string | undefined;
  private holders = 0;
  private readonly waiting: Waiting[] = [];

  /** Resolves when calls for `account` may run; call the returned function when the call is over. */
  async enter(account: string, signal?: AbortSignal): Promise<() => void> {
    const key = account.toUpperCase();
    if (this.holders === 0 || (this.current === key && this.waiting.length === 0)) {
      this.current = key;
      this.holders++;
      return this.leaver();
    }
    if (signal?.aborted) throw cancelled(signal);
    await new Promise<void>((resolve, reject) => {
      const w: Waiting = {
        account: key,
        go: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(w);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(cancelled(signal as AbortSignal));
        this.admit();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(w);
    });
    return this.leaver();
  }

  private leaver(): () => void {
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.holders--;
      this.admit();
    };
  }

  /** When nobody holds the scope, hands it to the first waiter's account and every waiter for it. */
  private admit(): void {
    if (this.holders > 0) return;
    const first = this.waiting[0];
    if (!first) return;
    this.current = first.account;
    for (let i = 0; i < this.waiting.length; ) {
      const w = this.waiting[i] as Waiting;
      if (w.account !== this.current) {
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      this.holders++;
      w.go();
    }
  }
}

function cancelled(signal: AbortSignal): BrokerError {
  return new BrokerError('CANCELLED', 'The request was cancelled.', { cause: signal.reason });
}
