/**
 * The doctor's questions to a Client Portal gateway, in IB's wire format: is the session
 * authenticated or competing, which accounts, and is AAPL's market data real-time. The doctor
 * (src/gateway/doctor.ts) is handed `openGatewayProbe` by main.ts and sees only the answers.
 */
import { CpapiHttp } from './http.js';

const AAPL_CONID = '265598';

/** Answers the doctor's GatewayProbe (src/gateway/doctor.ts) for the gateway at `url`. */
export function openGatewayProbe(url: string, insecureTls: boolean) {
  const http = new CpapiHttp({ baseUrl: url, timeoutMs: 5000, insecureTls, maxRetries: 0 });
  return {
    async status() {
      const st = (await http.post<Record<string, unknown>>('/iserver/auth/status', { idempotent: true })).data ?? {};
      return { authenticated: st['authenticated'] === true, competing: st['competing'] === true };
    },
    async accounts() {
      const acc = (await http.get<Record<string, unknown>>('/iserver/accounts')).data ?? {};
      const ids = Array.isArray(acc['accounts']) ? (acc['accounts'] as unknown[]).map(String) : [];
      return { ids, paper: acc['isPaper'] === true };
    },
    async marketData() {
      // The first snapshot for a conid only opens the stream (docs/ib/marketdata.md): ask again.
      let avail: string | undefined;
      for (let i = 0; i < 3 && !avail; i++) {
        const snap = await http.get<Array<Record<string, unknown>>>('/iserver/marketdata/snapshot', {
          query: { conids: AAPL_CONID, fields: '31,6509' },
        });
        const row = Array.isArray(snap.data) ? snap.data[0] : undefined;
        avail = typeof row?.['6509'] === 'string' ? (row['6509'] as string) : undefined;
        if (!avail) await new Promise((r) => setTimeout(r, 500));
      }
      if (!avail) return undefined;
      const c = avail[0];
      const kind: 'realtime' | 'delayed' | 'other' =
        c === 'R' ? 'realtime' : c === 'D' || c === 'Z' || c === 'Y' ? 'delayed' : 'other';
      return { code: avail, kind };
    },
    close: () => http.close(),
  };
}
