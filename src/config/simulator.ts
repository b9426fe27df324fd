/**
 * Flags of `ibkr-mcp simulator`, the standalone gateway simulator. Its seed and latency are the
 * option table's simulator options (src/config/options.ts) under shorter names, so their
 * defaults and ranges are stated once; values are checked by the same converter as every option.
 */
import { ConfigError, convert, parseArgv } from './index.js';
import { OPTIONS, type OptionSpec } from './options.js';

function fromTable(key: string, flag: string): OptionSpec {
  const spec = OPTIONS.find((o) => o.key === key);
  if (!spec) throw new Error(`no option ${key}`);
  return { ...spec, flag, env: [] };
}

export const SIMULATOR_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'port',
    flag: 'port',
    env: [],
    type: 'int',
    default: 5000,
    min: 0,
    max: 65535,
    group: 'Simulator',
    description: "Port to listen on (0 picks a free one); default 5000, or the --gateway-conf file's listenPort.",
  },
  {
    key: 'host',
    flag: 'host',
    env: [],
    type: 'string',
    default: '127.0.0.1',
    group: 'Simulator',
    description: 'Address to bind.',
  },
  fromTable('simSeed', 'seed'),
  fromTable('simLatencyMs', 'latency-ms'),
  {
    key: 'noTls',
    flag: 'no-tls',
    env: [],
    type: 'boolean',
    default: false,
    group: 'Simulator',
    description: 'Plain HTTP.',
  },
  {
    key: 'live',
    flag: 'live',
    env: [],
    type: 'boolean',
    default: false,
    group: 'Simulator',
    description: 'A live login: the accounts are live ones (U…, isPaper false), for testing what a live account needs.',
  },
  {
    key: 'advisorAccounts',
    flag: 'advisor-accounts',
    env: [],
    type: 'int',
    default: 0,
    min: 0,
    max: 1000,
    group: 'Simulator',
    description:
      "An advisor (FA) login with this many client sub-accounts (more than 100 needs IB's paged /portfolio/subaccounts2); 0: the usual three paper accounts.",
  },
  {
    key: 'gatewayConf',
    flag: 'gateway-conf',
    env: [],
    type: 'string',
    group: 'Simulator',
    description: 'A gateway conf.yaml (as ibkr-mcp writes it): its listenPort and CORS origins.',
  },
  {
    key: 'ibProfile',
    flag: 'ib-profile',
    env: [],
    type: 'enum',
    values: ['strict', '2023', '2026'],
    group: 'Simulator',
    description:
      "IB's answer shapes: strict (default) is IB's current spec with its parameter rules; 2023 / 2026 use older / newer field names. Every profile paces like IB (a 429 puts the caller in the 15-minute penalty box).",
  },
  {
    key: 'replay',
    flag: 'replay',
    env: [],
    type: 'string',
    group: 'Simulator',
    description:
      "A capture directory (ibkr-mcp --capture DIR): requests it recorded get the recorded answers (method and path, and the query where one was recorded); anything else gets the simulator's own answer.",
  },
  {
    key: 'oauth',
    flag: 'oauth',
    env: [],
    type: 'string',
    group: 'Simulator',
    description:
      "Speak IB's OAuth 1.0a like api.ibkr.com, for a consumer registered from the public files in this folder (public_signature.pem, public_encryption.pem, dhparam.pem, as `ibkr-mcp oauth setup` writes them); prints the consumer key, access token and encrypted secret.",
  },
  {
    key: 'oauthOut',
    flag: 'oauth-out',
    env: [],
    type: 'string',
    group: 'Simulator',
    description:
      "With --oauth: write the credentials to this file (owner-only JSON, e.g. the oauth folder's credentials.json) instead of printing them.",
  },
];

export interface SimulatorArgs {
  help: boolean;
  /** Undefined when not given (the conf file's port, else 5000, applies). */
  port: number | undefined;
  host: string;
  seed: number;
  latencyMs: number;
  tls: boolean;
  /** A live login (live account ids, isPaper false). */
  live: boolean;
  /** An advisor login with this many sub-accounts (0: none). */
  advisorAccounts: number;
  gatewayConf: string | undefined;
  /** Undefined when not given (strict applies). */
  ibProfile: 'strict' | '2023' | '2026' | undefined;
  /** A capture directory to replay. */
  replay: string | undefined;
  /** OAuth: the folder of the consumer's public files. */
  oauth: string | undefined;
  oauthOut: string | undefined;
}

export function simulatorHelp(): string {
  const usage = SIMULATOR_OPTIONS.map((o) =>
    o.type === 'boolean' ? `[--${o.flag}]` : `[--${o.flag} ${o.default ?? 'FILE'}]`,
  ).join(' ');
  return (
    `ibkr-mcp simulator ${usage}\n` +
    "  Runs the Client Portal gateway simulator; clients use it like IB's gateway at https://HOST:PORT/v1/api.\n" +
    SIMULATOR_OPTIONS.map((o) => `  --${o.flag}: ${o.description}\n`).join('') +
    '  Control surface for tests: GET /sim/stats, POST /sim/reset, POST /sim/faults, POST /sim/session.\n'
  );
}

export function loadSimulatorArgs(argv: readonly string[]): SimulatorArgs {
  const { flags, positionals } = parseArgv(argv, SIMULATOR_OPTIONS);
  if (positionals.length && !flags.get('help')) throw new ConfigError(`Unexpected argument "${positionals[0]}".`);
  const value = (flag: string): unknown => {
    const spec = SIMULATOR_OPTIONS.find((o) => o.flag === flag)!;
    const raw = flags.get(flag);
    return raw === undefined ? spec.default : convert(spec, raw, 'flag');
  };
  return {
    help: flags.get('help') === true,
    port: flags.get('port') === undefined ? undefined : (value('port') as number),
    host: value('host') as string,
    seed: value('seed') as number,
    latencyMs: value('latency-ms') as number,
    tls: value('no-tls') !== true,
    live: value('live') === true,
    advisorAccounts: value('advisor-accounts') as number,
    gatewayConf: value('gateway-conf') as string | undefined,
    ibProfile: value('ib-profile') as SimulatorArgs['ibProfile'],
    replay: value('replay') as string | undefined,
    oauth: value('oauth') as string | undefined,
    oauthOut: value('oauth-out') as string | undefined,
  };
}
