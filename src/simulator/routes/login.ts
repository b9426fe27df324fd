/**
 * The gateway's login page, simulated with the structure of IB's "xyz" login widget (the ids and
 * names IB's page uses: #xyz-field-username, #xyz-field-password, the paper switch #toggle1 /
 * paperSwitch driven by its label, button.xyz-button-login, the authenticator-code field
 * #xyz-field-silver-response, a push-notification screen and "Client login succeeds"). Like
 * IB's page it submits with JavaScript (JSON to /sso/Authenticator). The right credentials (and
 * code, or an approved push) open the SSO session; the brokerage session then needs ssodh/init.
 *
 *   GET  /sso/Login                the page
 *   POST /sso/Authenticator        {username,password,paper} | {ticket,code} | {ticket,poll:true}
 *                                  → {step:"error"|"totp"|"push"|"success", message?, ticket?}
 *   GET  /sim/login-config         → the config without secrets, and counters
 *   POST /sim/login-config         {username?,password?,secondFactor?:"none"|"totp"|"push",
 *                                   totpSecret?, pushApproveMs?: number|null, reset?: true}
 *   POST /sim/login-approve        approves a pending push login
 */
import { randomBytes } from 'node:crypto';
import * as OTPAuth from 'otpauth';
import { json, type Reply, type Router } from '../server.js';
import { login, type SimState } from '../state.js';

export interface LoginConfig {
  username: string;
  password: string;
  secondFactor: 'none' | 'totp' | 'push';
  totpSecret?: string;
  /** Push logins are approved by themselves after this many ms; null: only /sim/login-approve. */
  pushApproveMs: number | null;
}

interface Pending {
  ticket: string;
  paper: boolean;
  step: 'totp' | 'push';
  at: number;
  approved: boolean;
}

interface LoginState {
  config: LoginConfig;
  pending: Pending | undefined;
  stats: {
    attempts: number;
    failures: number;
    codesAccepted: number;
    codesRejected: number;
    lastPaper: boolean | undefined;
    logins: number;
  };
}

const KEY = 'login';

function freshStats(): LoginState['stats'] {
  return { attempts: 0, failures: 0, codesAccepted: 0, codesRejected: 0, lastPaper: undefined, logins: 0 };
}

export function loginState(state: SimState): LoginState {
  let ls = state.ext.get(KEY) as LoginState | undefined;
  if (!ls) {
    ls = {
      config: { username: 'simuser', password: 'simpass', secondFactor: 'none', pushApproveMs: null },
      pending: undefined,
      stats: freshStats(),
    };
    state.ext.set(KEY, ls);
  }
  return ls;
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Client Portal Login</title>
<style>body{font-family:sans-serif;max-width:420px;margin:40px auto}input,button{display:block;margin:8px 0;padding:6px;width:100%}
.paper{display:flex;align-items:center;gap:8px}.paper input{position:absolute;opacity:0;width:1px;height:1px}.paper label{cursor:pointer}
.xyz-errormessage{color:#b00}</style></head>
<body>
<div id="xyz-banner">Interactive Brokers (ibkr-mcp simulator)</div>
<form id="xyz-login-form" class="xyz-form" autocomplete="off">
  <div class="xyz-errormessage" role="alert" style="display:none"></div>
  <input id="xyz-field-username" name="username" type="text" placeholder="Username" autocomplete="username">
  <input id="xyz-field-password" name="password" type="password" placeholder="Password" autocomplete="current-password">
  <div class="paper"><input type="checkbox" id="toggle1" name="paperSwitch"><label for="toggle1">Paper Trading</label></div>
  <button type="submit" class="xyz-button-login btn btn-primary">Login</button>
</form>
<div id="xyz-second-factor" style="display:none">
  <p class="xyz-twofactor-text">Enter the security code from your Mobile Authenticator App.</p>
  <div class="xyz-errormessage" role="alert" style="display:none"></div>
  <form id="xyz-code-form" autocomplete="off">
    <input id="xyz-field-silver-response" name="silver-response" type="text" inputmode="numeric" placeholder="Mobile Authenticator App Code">
    <button type="submit" class="xyz-button-login btn btn-primary">Login</button>
  </form>
</div>
<div id="xyz-push" class="xyz-push-notification" style="display:none">We sent you a notification. Open the IBKR notification on your phone and approve this login.</div>
<div id="xyz-success" style="display:none">Client login succeeds</div>
<script>
let ticket = '';
const $ = (id) => document.getElementById(id);
const sections = ['xyz-login-form', 'xyz-second-factor', 'xyz-push', 'xyz-success'];
function show(id) { for (const s of sections) $(s).style.display = s === id ? '' : 'none'; }
function err(msg) { for (const e of document.querySelectorAll('.xyz-errormessage')) { e.textContent = msg || ''; e.style.display = msg ? '' : 'none'; } }
async function post(body) {
  const r = await fetch('/sso/Authenticator', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return r.json();
}
function handle(r) {
  if (r.ticket) ticket = r.ticket;
  if (r.step === 'error') { err(r.message); if (r.stage === 'login') show('xyz-login-form'); return; }
  err('');
  if (r.step === 'totp') { $('xyz-field-silver-response').value = ''; show('xyz-second-factor'); }
  if (r.step === 'push') { show('xyz-push'); setTimeout(poll, 400); }
  if (r.step === 'success') show('xyz-success');
}
async function poll() { handle(await post({ ticket, poll: true })); }
$('xyz-login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  handle(await post({ username: $('xyz-field-username').value, password: $('xyz-field-password').value, paper: $('toggle1').checked }));
});
$('xyz-code-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  handle(await post({ ticket, code: $('xyz-field-silver-response').value }));
});
</script>
</body></html>
`;

function html(body: string): Reply {
  return { status: 200, body, headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' } };
}

function succeed(state: SimState, ls: LoginState, paper: boolean): Reply {
  ls.pending = undefined;
  ls.stats.logins += 1;
  ls.stats.lastPaper = paper;
  // SSO session up; as on IB the brokerage session follows with /iserver/auth/ssodh/init.
  login(state);
  state.session.brokerage = false;
  return json({ step: 'success', message: 'Client login succeeds' });
}

export function register(router: Router, state: SimState): void {
  const ls = () => loginState(state);

  router.addControl('GET', '/sso/Login', () => html(PAGE));

  router.addControl('POST', '/sso/Authenticator', (ctx) => {
    const s = ls();
    const b = (ctx.body ?? {}) as Record<string, unknown>;
    if (typeof b['ticket'] === 'string' && b['ticket']) {
      const p = s.pending;
      if (!p || p.ticket !== b['ticket']) {
        return json({ step: 'error', stage: 'login', message: 'Your session has timed out. Please log in again.' });
      }
      if (p.step === 'push') {
        const auto = s.config.pushApproveMs;
        if (p.approved || (auto !== null && Date.now() - p.at >= auto)) return succeed(state, s, p.paper);
        return json({ step: 'push', ticket: p.ticket });
      }
      const code = String(b['code'] ?? '').trim();
      const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(s.config.totpSecret ?? ''), period: 30 });
      if (/^\d{6}$/.test(code) && totp.validate({ token: code, window: 1 }) !== null) {
        s.stats.codesAccepted += 1;
        return succeed(state, s, p.paper);
      }
      s.stats.codesRejected += 1;
      return json({
        step: 'error',
        stage: 'totp',
        ticket: p.ticket,
        message: 'Invalid security code. Please try again.',
      });
    }
    s.stats.attempts += 1;
    const paper = b['paper'] === true;
    if (b['username'] !== s.config.username || b['password'] !== s.config.password) {
      s.stats.failures += 1;
      return json({ step: 'error', stage: 'login', message: 'Invalid username password combination' });
    }
    if (s.config.secondFactor === 'none') return succeed(state, s, paper);
    const pending: Pending = {
      ticket: randomBytes(12).toString('hex'),
      paper,
      step: s.config.secondFactor === 'totp' ? 'totp' : 'push',
      at: Date.now(),
      approved: false,
    };
    s.pending = pending;
    return json({ step: pending.step, ticket: pending.ticket });
  });

  router.addControl('GET', '/sim/login-config', () => {
    const s = ls();
    const { password: _p, totpSecret, ...rest } = s.config;
    return json({ ...rest, totpSecret: totpSecret ? '[set]' : undefined, pending: s.pending?.step, stats: s.stats });
  });

  router.addControl('POST', '/sim/login-config', (ctx) => {
    const s = ls();
    const b = (ctx.body ?? {}) as Record<string, unknown>;
    if (typeof b['username'] === 'string') s.config.username = b['username'];
    if (typeof b['password'] === 'string') s.config.password = b['password'];
    if (b['secondFactor'] === 'none' || b['secondFactor'] === 'totp' || b['secondFactor'] === 'push') {
      s.config.secondFactor = b['secondFactor'];
    }
    if (typeof b['totpSecret'] === 'string') s.config.totpSecret = b['totpSecret'];
    if (b['pushApproveMs'] === null || typeof b['pushApproveMs'] === 'number') {
      s.config.pushApproveMs = b['pushApproveMs'] as number | null;
    }
    if (b['reset'] === true) {
      s.stats = freshStats();
      s.pending = undefined;
    }
    return json({ ok: true });
  });

  router.addControl('POST', '/sim/login-approve', () => {
    const p = ls().pending;
    if (p?.step !== 'push') return json({ approved: false, error: 'no push login is waiting' }, 409);
    p.approved = true;
    return json({ approved: true });
  });
}
