/**
 * The commands behind the `ibkr-mcp` binary: serve, capture, simulator, demo, setup, doctor, halt, resume,
 * approvals.
 * stdout belongs to the MCP protocol in serve mode; everything human goes to stderr.
 */
import { ConfigError, ensureHome, helpText, loadConfig, VERSION } from './config/index.js';
import { createLogger } from './log.js';

async function main(argv: string[]): Promise<number> {
  const command = argv[0] && !argv[0].startsWith('-') ? argv[0] : 'serve';
  const rest = argv[0] === command ? argv.slice(1) : argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'simulator':
      return simulator(rest);
    case 'capture': {
      // `ibkr-mcp capture DIR [options]`: the server with --capture DIR.
      const dir = rest[0];
      if (!dir || dir.startsWith('-')) {
        throw new ConfigError('ibkr-mcp capture needs a directory: ibkr-mcp capture DIR [options].');
      }
      return serve(['--capture', dir, ...rest.slice(1)]);
    }
    case 'demo': {
      const { runDemo } = await import('./demo.js');
      return runDemo(rest);
    }
    case 'setup': {
      const { runSetup } = await import('./gateway/setup.js');
      return runSetup(rest);
    }
    case 'doctor': {
      const [{ runDoctor }, { createCpapiBackend }] = await Promise.all([
        import('./gateway/doctor.js'),
        import('./backends/cpapi/index.js'),
      ]);
      return runDoctor(
        rest,
        (baseUrl, insecureTls) => {
          const backend = createCpapiBackend({ baseUrl, insecureTls, timeoutMs: 5000 });
          return { backend, session: backend.session };
        },
        undefined,
        async (config) => {
          // OAuth: the chain step by step (oauth-setup.ts), then a backend signing with its token.
          const { checkOAuth } = await import('./oauth-setup.js');
          const r = await checkOAuth(config, true);
          const checks = r.steps.map((s) => ({ ...s, name: `OAuth: ${s.name}` }));
          if (!r.signer) return { checks };
          const backend = createCpapiBackend({ baseUrl: config.oauthBaseUrl, timeoutMs: 5000, signer: r.signer });
          const close = backend.close.bind(backend);
          backend.close = async () => {
            await close();
            await r.close?.();
          };
          return { checks, connection: { backend, session: backend.session } };
        },
      );
    }
    case 'oauth': {
      if (rest[0] !== 'setup') {
        throw new ConfigError('ibkr-mcp oauth has one command: ibkr-mcp oauth setup (see --help).');
      }
      const { runOAuthSetup } = await import('./oauth-setup.js');
      return runOAuthSetup(rest.slice(1));
    }
    case 'halt':
    case 'resume':
      return haltCommand(command, rest);
    case 'approvals':
      return approvalsCommand(rest);
    case 'help':
      process.stdout.write(helpText());
      return 0;
    default:
      process.stderr.write(
        `Unknown command "${command}". Commands: serve, capture, simulator, demo, setup, oauth setup, doctor, halt, resume, approvals. Run ibkr-mcp --help.\n`,
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
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (loaded.positionals.length) {
    throw new ConfigError(`Unexpected argument "${loaded.positionals[0]}". Run ibkr-mcp --help.`);
  }
  const { config } = loaded;
  const log = createLogger({ level: config.logLevel });
  // A signal before the transport installs its own handlers (the managed gateway may already be
  // downloading) must still shut down cleanly: remember it, and close once the server is up.
  let early: string | undefined;
  const onEarly = (sig: string) => {
    early = sig;
  };
  process.once('SIGTERM', onEarly);
  process.once('SIGINT', onEarly);
  // Loaded side by side. The built-in simulator starts at the first tool call that needs it:
  // the MCP server answers tools/list without it.
  const [{ createApp }, safety, transport] = await Promise.all([
    import('./runtime.js'),
    import('./safety/index.js'),
    config.transport === 'http' ? import('./mcp/http.js') : import('./mcp/stdio.js'),
  ]);
  const app = await createApp(config, log, { simulatorOnFirstUse: true });
  // Trading safety: confirmation setting check and background reconciliation of the order journal.
  safety.startOrderSafety(app);
  const server =
    'startHttp' in transport
      ? await transport.startHttp(app).catch(async (err: unknown) => {
          await app.close();
          throw err;
        })
      : await transport.startStdio(app);
  process.off('SIGTERM', onEarly);
  process.off('SIGINT', onEarly);
  if (early) {
    await server.close();
    return 0;
  }
  if (config.allowLiveTrading) {
    const { liveWithoutApproval } = await import('./safety/policy.js');
    if (liveWithoutApproval({ ...config })) {
      log.warn(
        'LIVE orders are sent WITHOUT asking the user (--order-confirmation none --allow-live-without-approval)',
      );
    } else {
      log.info('live trading allowed: each live order needs the user (a dialog, else an approval code)');
    }
  }
  log.info('ibkr-mcp started', {
    version: VERSION,
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

/**
 * `ibkr-mcp approvals setup|status|remove`: the approval code for live orders. Setup prints the
 * secret, so it runs only in an interactive terminal (not in an assistant's shell tool), and asks
 * for one code back to prove the authenticator has it.
 */
async function approvalsCommand(argv: string[]): Promise<number> {
  const loaded = loadConfig(argv);
  const [action = 'status', ...extra] = loaded.positionals;
  if (extra.length) throw new ConfigError(`Unexpected argument "${extra[0]}".`);
  const { ApprovalCodes } = await import('./safety/approval-code.js');
  ensureHome(loaded.config.home);
  const codes = new ApprovalCodes(loaded.config.home);
  const out = (t: string) => process.stdout.write(t);
  switch (action) {
    case 'status': {
      const until = codes.lockedUntil();
      out(
        codes.enrolled()
          ? `An approval code is set up: live orders need the code from your authenticator app.${until ? ` Approvals are locked after wrong codes until ${Number.isFinite(until) ? new Date(until).toISOString() : 'you run `ibkr-mcp approvals setup` again'}.` : ''}\n`
          : 'No approval code is set up: in a client without confirmation dialogs, live orders are refused. Run `ibkr-mcp approvals setup`.\n',
      );
      return 0;
    }
    case 'remove':
      out(codes.remove() ? 'Approval code removed.\n' : 'No approval code was set up.\n');
      return 0;
    case 'setup':
      return approvalsSetup(codes, out);
    default:
      throw new ConfigError(`Unknown approvals action "${action}": setup, status or remove.`);
  }
}

async function approvalsSetup(
  codes: import('./safety/approval-code.js').ApprovalCodes,
  out: (t: string) => void,
): Promise<number> {
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    process.stderr.write(
      'ibkr-mcp approvals setup shows a secret: run it yourself in an interactive terminal (not through an assistant).\n',
    );
    return 2;
  }
  const replacing = codes.enrolled();
  const { url, secret } = codes.enrol();
  out(
    `${replacing ? 'A new secret replaces the old one (its codes no longer work).\n' : ''}` +
      'Add this to your authenticator app (Google Authenticator, 1Password, Aegis, …):\n\n' +
      `  ${url}\n\n` +
      `or type the key by hand: ${secret.replace(/(.{4})/g, '$1 ').trim()} (time-based, 6 digits, 30 seconds)\n\n` +
      'Do not paste it into a chat. From now on each LIVE order in a client without confirmation dialogs\n' +
      'needs the 6-digit code your app shows; you read it out, the assistant cannot compute it.\n\n',
  );
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    for (let i = 0; i < 3; i++) {
      const code = (await rl.question('Type the code your app shows now, to check: ')).trim();
      try {
        codes.verify(code, 0);
        out('The code matches: approvals are set up.\n');
        return 0;
      } catch (err) {
        out(`${(err as Error).message}\n`);
      }
    }
  } finally {
    rl.close();
  }
  codes.remove();
  out('No matching code: the setup was undone. Check the time on your phone and run it again.\n');
  return 1;
}

async function simulator(argv: string[]): Promise<number> {
  const { loadSimulatorArgs, simulatorHelp } = await import('./config/simulator.js');
  const args = loadSimulatorArgs(argv);
  if (args.help) {
    process.stdout.write(simulatorHelp());
    return 0;
  }
  const conf = args.gatewayConf
    ? (await import('./gateway/conf.js')).readGatewayConf(
        (await import('node:fs')).readFileSync(args.gatewayConf, 'utf8'),
      )
    : undefined;
  const { startSimulator } = await import('./simulator/index.js');
  const sim = await startSimulator({
    // IB's rules (pacing with the 15-minute penalty box, account scoping, the derivative search)
    // are the simulator's defaults whatever the profile; only the answer shapes change with it.
    profile: args.ibProfile ?? 'strict',
    port: args.port ?? conf?.port ?? 5000,
    allowedOrigins: conf?.allowedOrigins,
    host: args.host,
    seed: args.seed,
    latencyMs: args.latencyMs,
    tls: args.tls,
    live: args.live,
    ...(args.replay ? { replay: args.replay } : {}),
    ...(args.oauth ? { oauth: true } : {}),
  });
  process.stdout.write(`IB Client Portal gateway simulator listening at ${sim.apiBase}\n`);
  if (sim.flex) {
    process.stdout.write(
      `IB Flex Web Service simulator at ${sim.flex.baseUrl} (for ibkr-mcp: IB_FLEX_URL=${sim.flex.baseUrl} IB_FLEX_TOKEN=${sim.flex.token}, the simulator's own token)\n`,
    );
  }
  if (args.oauth) await registerSimConsumer(sim, args.oauth, args.oauthOut);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await sim.close();
  return 0;
}

/** `simulator --oauth DIR`: a consumer for the public files in DIR, its credentials printed or written. */
async function registerSimConsumer(
  sim: import('./simulator/index.js').SimulatorHandle,
  dir: string,
  out: string | undefined,
): Promise<void> {
  const { readFileSync, writeFileSync, chmodSync } = await import('node:fs');
  const { join } = await import('node:path');
  const read = (name: string) => readFileSync(join(dir, name), 'utf8');
  const creds = sim.oauth!.register({
    signaturePublicKey: read('public_signature.pem'),
    encryptionPublicKey: read('public_encryption.pem'),
    dhParams: read('dhparam.pem'),
  });
  if (out) {
    writeFileSync(out, `${JSON.stringify({ ...creds, realm: 'limited_poa' }, null, 2)}\n`, { mode: 0o600 });
    chmodSync(out, 0o600);
    process.stdout.write(`OAuth consumer ${creds.consumerKey} registered; credentials written to ${out}\n`);
  } else {
    process.stdout.write(
      `IB_OAUTH_CONSUMER_KEY=${creds.consumerKey}\nIB_OAUTH_ACCESS_TOKEN=${creds.accessToken}\nIB_OAUTH_ACCESS_TOKEN_SECRET=${creds.accessTokenSecret}\n`,
    );
  }
  process.stdout.write(`Use it with: ibkr-mcp --auth oauth --oauth-base-url ${sim.apiBase}\n`);
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
