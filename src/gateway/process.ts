/**
 * IB's gateway as our child process: a generated conf (loopback allow-list) in our own run
 * folder, java started directly with the gateway's class path, "up" once it answers HTTP on
 * its port, and stopped with everything we started. A watchdog process kills the gateway if
 * this process dies without cleaning up (even on SIGKILL). One restart after an unexpected
 * death; a second death is reported, not looped. We never probe ports other than our own
 * and never touch a gateway we did not start.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { Agent, request } from 'undici';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { own } from './cleanup.js';
import { CONF_FILE, writeGatewayConf } from './conf.js';
import { GATEWAY_MAIN_CLASS, type GatewayLayout } from './provision.js';

export type GatewayProcessState = 'idle' | 'starting' | 'running' | 'restarting' | 'stopped' | 'failed';

export interface GatewayProcessOptions {
  layout: GatewayLayout;
  javaPath: string;
  port: number;
  /** Our folder for the generated conf (never inside the user's distribution). */
  runDir: string;
  log?: Logger;
  /** How long to wait for the gateway to answer after start (default 60 s). */
  startTimeoutMs?: number;
  /** Environment for java; credentials are always removed. */
  env?: NodeJS.ProcessEnv;
  /** Uptime after which a death counts as a new first death again (default 10 min). */
  stableAfterMs?: number;
}

import { childEnv } from './child-env.js';

export { childEnv };

/** Resolves true when nothing listens on `port` (we only ever check the one port we will use). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

const insecure = new Agent({ connect: { rejectUnauthorized: false, timeout: 2000 } });

/** Does something answer HTTP(S) at this URL? Any status counts. */
export async function answers(url: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await request(url, {
      method: 'GET',
      dispatcher: insecure,
      signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: timeoutMs,
    });
    await res.body.dump().catch(() => {});
    return true;
  } catch {
    return false;
  }
}

// Kills the process group `pid` when our stdin closes: this process's parent (ibkr-mcp) died.
const WATCHDOG = `
const pid = Number(process.argv[1]);
const kill = (sig) => { try { process.platform === 'win32' ? require('child_process').spawnSync('taskkill', ['/pid', String(pid), '/T', '/F']) : process.kill(-pid, sig); } catch {} };
process.stdin.on('data', () => {});
process.stdin.on('close', () => { kill('SIGTERM'); setTimeout(() => { kill('SIGKILL'); process.exit(0); }, 3000); });
process.stdin.resume();
`;

export class GatewayProcess extends EventEmitter {
  readonly port: number;
  readonly url: string;
  state: GatewayProcessState = 'idle';
  /** Unexpected deaths so far. */
  deaths = 0;
  lastExit: { code: number | null; signal: NodeJS.Signals | null; at: string } | undefined;
  failure: string | undefined;
  private child: ChildProcess | undefined;
  private watchdog: ChildProcess | undefined;
  private startedAt = 0;
  private readonly tail: string[] = [];
  private readonly log: Logger;
  private readonly opts: GatewayProcessOptions;
  private unown: (() => void) | undefined;
  private stopping = false;

  constructor(opts: GatewayProcessOptions) {
    super();
    this.opts = opts;
    this.port = opts.port;
    this.url = `https://localhost:${opts.port}`;
    this.log = opts.log ?? silentLogger;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The gateway's last lines of output, for error messages. */
  output(): string {
    return this.tail.join('\n');
  }

  /** Starts java and resolves once the gateway answers on its port. */
  async start(): Promise<void> {
    if (this.state === 'running' || this.state === 'starting') return;
    this.stopping = false;
    this.setState('starting');
    const free = await portIsFree(this.port);
    // stop() was called while we checked the port (a shutdown): start nothing.
    if (this.stopping) throw new Error('The gateway start was cancelled: ibkr-mcp is shutting down.');
    if (!free) {
      this.fail(
        `Port ${this.port} is already in use by another program, so ibkr-mcp cannot start its gateway there. ` +
          `If that is a gateway you run yourself, use it with --gateway-url https://localhost:${this.port}; otherwise choose a free port with --gateway-port.`,
      );
      throw new Error(this.failure);
    }
    this.spawnJava();
    await this.waitUntilUp();
  }

  private spawnJava(): void {
    const { layout, javaPath, runDir, port } = this.opts;
    const conf = writeGatewayConf(runDir, { port });
    const classpath = [conf.dir, layout.rootDir, layout.jar, join(layout.runtimeDir, '*')].join(delimiter);
    const args = [
      '-server',
      '-Djava.awt.headless=true',
      '-Dvertx.disableDnsResolver=true',
      '-Djava.net.preferIPv4Stack=true',
      '-Dvertx.logger-delegate-factory-class-name=io.vertx.core.logging.SLF4JLogDelegateFactory',
      '-cp',
      classpath,
      GATEWAY_MAIN_CLASS,
      '--conf',
      CONF_FILE,
    ];
    const child = spawn(javaPath, args, {
      cwd: layout.dir,
      env: childEnv(this.opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: process.platform !== 'win32',
      windowsHide: true,
    });
    this.child = child;
    this.startedAt = Date.now();
    const onData = (d: Buffer) => {
      for (const line of d.toString('utf8').split(/\r?\n/)) {
        if (!line.trim()) continue;
        this.tail.push(line.slice(0, 400));
        if (this.tail.length > 40) this.tail.shift();
        this.log.debug('gateway output', { line: line.slice(0, 400) });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (err) => {
      this.log.error('gateway process could not start', { err: err.message, java: javaPath });
      this.tail.push(`spawn error: ${err.message}`);
    });
    child.once('exit', (code, signal) => this.onExit(child, code, signal));
    this.log.info('gateway process started', { pid: child.pid, port, dir: layout.dir });
    if (child.pid) this.startWatchdog(child.pid);
    this.unown?.();
    this.unown = own({ stop: () => this.stop(), killNow: () => this.killNow() });
  }

  private startWatchdog(pid: number): void {
    try {
      const wd = spawn(process.execPath, ['-e', WATCHDOG, String(pid)], {
        stdio: ['pipe', 'ignore', 'ignore'],
        detached: true,
        env: childEnv(),
        windowsHide: true,
      });
      wd.on('error', () => {});
      wd.unref();
      (wd.stdin as unknown as { unref?: () => void } | null)?.unref?.();
      this.watchdog = wd;
    } catch (err) {
      this.log.warn('gateway watchdog could not start', { err: (err as Error).message });
    }
  }

  private stopWatchdog(): void {
    const wd = this.watchdog;
    this.watchdog = undefined;
    if (!wd) return;
    try {
      wd.kill('SIGKILL');
    } catch {
      // already gone
    }
  }

  private async waitUntilUp(): Promise<void> {
    const deadline = Date.now() + (this.opts.startTimeoutMs ?? 60_000);
    const child = this.child;
    while (Date.now() < deadline) {
      if (this.stopping) throw new Error('The gateway start was cancelled: ibkr-mcp is shutting down.');
      if (!child || child.exitCode !== null || child.signalCode !== null || this.child !== child) {
        const why = `The gateway process exited during start-up${this.lastExit ? ` (exit code ${this.lastExit.code ?? this.lastExit.signal})` : ''}. Its last output:\n${this.output() || '(none)'}`;
        this.fail(why);
        throw new Error(why);
      }
      if (await answers(`https://127.0.0.1:${this.port}/`, 1500)) {
        this.setState('running');
        this.log.info('gateway answering', { url: this.url, ms: Date.now() - this.startedAt });
        return;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const why = `The gateway did not answer on port ${this.port} within ${Math.round((this.opts.startTimeoutMs ?? 60_000) / 1000)} s. Its last output:\n${this.output() || '(none)'}`;
    await this.stop();
    this.fail(why);
    throw new Error(why);
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.lastExit = { code, signal, at: new Date().toISOString() };
    this.child = undefined;
    this.stopWatchdog();
    if (this.stopping || this.state === 'stopped') return;
    if (this.state === 'starting') return; // waitUntilUp reports it
    const uptime = Date.now() - this.startedAt;
    if (uptime > (this.opts.stableAfterMs ?? 600_000)) this.deaths = 0;
    this.deaths += 1;
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    if (this.deaths === 1) {
      this.log.warn('gateway process died; restarting it once', { how, uptimeMs: uptime });
      this.setState('restarting', `The gateway process died (${how}); ibkr-mcp restarted it once.`);
      this.state = 'idle';
      this.start().then(
        () => this.emit('restarted', how),
        (err: unknown) => this.log.error('gateway restart failed', { err: (err as Error).message }),
      );
    } else {
      this.fail(
        `The gateway process died again (${how}) after ibkr-mcp had restarted it once; not restarting it again. Its last output:\n${this.output() || '(none)'}`,
      );
    }
  }

  private fail(why: string): void {
    this.failure = why;
    this.setState('failed', why);
  }

  private setState(s: GatewayProcessState, note?: string): void {
    this.state = s;
    this.emit('state', s, note);
  }

  private killGroup(sig: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (!pid) return;
    try {
      if (process.platform === 'win32') this.child?.kill(sig);
      else process.kill(-pid, sig);
    } catch {
      try {
        this.child?.kill(sig);
      } catch {
        // gone
      }
    }
  }

  killNow(): void {
    this.stopping = true;
    this.killGroup('SIGKILL');
    this.stopWatchdog();
  }

  /** Stops the gateway (TERM, then KILL after 5 s) and its watchdog. */
  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      this.killGroup('SIGTERM');
      const t = setTimeout(() => this.killGroup('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    this.child = undefined;
    this.stopWatchdog();
    this.unown?.();
    this.unown = undefined;
    if (this.state !== 'failed') this.setState('stopped');
  }
}
