/**
 * The commands behind the `ibkr-mcp` binary: serve, simulator, demo, setup, doctor, halt, resume.
 * stdout belongs to the MCP protocol in serve mode; everything human goes to stderr.
 */
import { ConfigError, helpText, loadConfig, parseArgv } from './config/index.js';
import { createLogger } from './log.js';
import { SERVER_VERSION } from './mcp/server.js';

async function main(argv: string[]): Promise<number> {
  const command = argv[0] && !argv[0].startsWith('-') ? argv[0] : 'serve';
  const rest = argv[0] === command ? argv.slice(1) : argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'simulator':
      return simulator(rest);
    case 'demo': {
      const { runDemo } = await import('./demo.js');
      return runDemo(rest);
    }
    case 'setup': {
      const { runSetup } = await import('./gateway/setup.js');
      return runSetup(rest);
    }
    case 'doctor': {
      const { runDoctor } = await import('./gateway/doctor.js');
      return runDoctor(rest);
    }
    case 'halt':
    case 'resume':
      return haltCommand(command, rest);
    case 'help':
      process.stdout.write(helpText());
      return 0;
    default:
      process.stderr.write(
        `Unknown command "${command}". Commands: serve, simulator, demo, setup, doctor, halt, resume. Run ibkr-mcp --help.\n`,
      );
      return 2;
  }
}

async function serve(argv: string[]): Promise<number> {
  const loaded = loadConfig(argv);
  if (loaded.help) {
    process.stdout.write(helpText());
    return 0;
  }
  if (loaded.version) {
    process.stdout.write(`${SERVER_VERSION}\n`);
    return 0;
  }
  if (loaded.positionals.length) {
    throw new ConfigError(`Unexpected argument "${loaded.positionals[0]}". Run ibkr-mcp --help.`);
  }
  const { config } = loaded;
  const log = createLogger({ level: config.logLevel });
  const { createApp } = await import('./runtime.js');
  const app = await createApp(config, log);
  // Trading safety: confirmation setting check and background reconciliation of the order journal.
  (await import('./safety/index.js')).startOrderSafety(app);
  const server =
    config.transport === 'http'
      ? await (await import('./mcp/http.js')).startHttp(app).catch(async (err: unknown) => {
          await app.close();
          throw err;
        })
      : await (await import('./mcp/stdio.js')).startStdio(app);
  log.info('ibkr-mcp started', {
    version: SERVER_VERSION,
    transport: config.transport,
    backend: app.backendLabel,
    mode: app.mode() === 'UNKNOWN' ? 'PAPER or LIVE (read from IB at first account call)' : app.mode(),
  });
  await server.closed;
  return 0;
}

/** `ibkr-mcp halt [reason…]` / `ibkr-mcp resume`: the kill switch file in the state directory. */
async function haltCommand(command: 'halt' | 'resume', argv: string[]): Promise<number> {
  const loaded = loadConfig(argv);
  const { halt, haltPath, resume } = await import('./safety/killswitch.js');
  const { ensureHome } = await import('./runtime.js');
  ensureHome(loaded.config.home);
  if (command === 'halt') {
    halt(loaded.config.home, loaded.positionals.join(' ') || 'halted with ibkr-mcp halt');
    process.stdout.write(
      `Trading halted: no order will be placed or modified until \`ibkr-mcp resume\` (cancels still work). ${haltPath(loaded.config.home)}\n`,
    );
  } else {
    const lifted = resume(loaded.config.home);
    process.stdout.write(lifted ? 'Trading resumed.\n' : 'Trading was not halted.\n');
  }
  return 0;
}

const SIM_FLAGS = [
  { flag: 'port', type: 'int' as const },
  { flag: 'host', type: 'string' as const },
  { flag: 'seed', type: 'int' as const },
  { flag: 'latency-ms', type: 'int' as const },
  { flag: 'no-tls', type: 'boolean' as const },
  { flag: 'gateway-conf', type: 'string' as const },
  { flag: 'ib-profile', type: 'string' as const },
];

/** IB's penalty box after repeated 429s (cpapi-protocol.md §8: "penalty box for 15 minutes"). */
const IB_PENALTY_BOX_MS = 15 * 60_000;

async function simulator(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgv(argv, SIM_FLAGS);
  if (flags.get('help')) {
    process.stdout.write(
      'ibkr-mcp simulator [--port 5000] [--host 127.0.0.1] [--seed 42] [--latency-ms 0] [--no-tls] [--gateway-conf FILE]\n' +
        '                   [--ib-profile strict|2023|2026]\n' +
        "  Runs the Client Portal gateway simulator; clients use it like IB's gateway at https://HOST:PORT/v1/api.\n" +
        '  --gateway-conf reads a gateway conf.yaml (as ibkr-mcp writes it): its listenPort and CORS origins.\n' +
        "  --ib-profile: IB's answer shapes; strict (default) is IB's current spec with its parameter rules;\n" +
        '    2023 / 2026 use older / newer field names. Given as strict, a 429 also puts the caller in\n' +
        "    IB's 15-minute penalty box.\n" +
        '  Control surface for tests: GET /sim/stats, POST /sim/reset, POST /sim/faults, POST /sim/session.\n',
    );
    return 0;
  }
  if (positionals.length) throw new ConfigError(`Unexpected argument "${positionals[0]}".`);
  const int = (name: string, def: number, min: number, max: number): number => {
    const raw = flags.get(name);
    if (raw === undefined) return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new ConfigError(`--${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}.`);
    }
    return n;
  };
  const host = flags.get('host');
  if (host === true) throw new ConfigError('--host needs a value.');
  const confFile = flags.get('gateway-conf');
  if (confFile === true) throw new ConfigError('--gateway-conf needs a file.');
  const conf =
    typeof confFile === 'string'
      ? (await import('./gateway/conf.js')).readGatewayConf((await import('node:fs')).readFileSync(confFile, 'utf8'))
      : undefined;
  const profileRaw = flags.get('ib-profile');
  if (typeof profileRaw === 'boolean') throw new ConfigError('--ib-profile needs a value: strict, 2023 or 2026.');
  if (profileRaw !== undefined && !['strict', '2023', '2026'].includes(profileRaw)) {
    throw new ConfigError(`--ib-profile must be strict, 2023 or 2026, got ${JSON.stringify(profileRaw)}.`);
  }
  const profile = (profileRaw ?? 'strict') as 'strict' | '2023' | '2026';
  const { startSimulator } = await import('./simulator/index.js');
  const sim = await startSimulator({
    profile,
    // IB's penalty box only when strict is asked for explicitly: a bare `ibkr-mcp simulator` stays test-friendly.
    penaltyBoxMs: profileRaw === 'strict' ? IB_PENALTY_BOX_MS : 0,
    port: flags.get('port') === undefined && conf ? conf.port : int('port', 5000, 0, 65535),
    allowedOrigins: conf?.allowedOrigins,
    host: typeof host === 'string' ? host : '127.0.0.1',
    seed: int('seed', 42, 0, 2147483647),
    latencyMs: int('latency-ms', 0, 0, 60000),
    tls: flags.get('no-tls') !== true,
  });
  process.stdout.write(`IB Client Portal gateway simulator listening at ${sim.apiBase}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await sim.close();
  return 0;
}

/** Runs one command line; resolves to the process exit code. Errors are printed, never thrown. */
export function run(argv: string[]): Promise<number> {
  return main(argv).catch((err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`ibkr-mcp: ${err.message}\n`);
      return 2;
    }
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`ibkr-mcp: ${msg}\n`);
    return 1;
  });
}
