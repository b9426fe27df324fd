/**
 * Builds the one validated Config object from CLI flags, environment variables and
 * defaults, in that order of precedence. Unknown flags and malformed values are errors
 * that name the flag; secrets never appear in messages.
 */
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import * as z from 'zod';
import { OPTIONS, type OptionSpec } from './options.js';

export { commandFor } from './command.js';
export { ensureHome } from './home.js';
export { isLoopbackHost } from './net.js';
export { OPTIONS, type OptionSpec } from './options.js';
export { packageRoot, VERSION } from './version.js';

export const TOOLSETS = [
  'marketdata',
  'chart',
  'options',
  'account',
  'orders',
  'order_groups',
  'alerts',
  'research',
  'statements',
  'session',
] as const;
export type Toolset = (typeof TOOLSETS)[number];
/** The tool sets of `--toolsets default`: the common jobs, with every tool of the original product. */
export const DEFAULT_TOOLSETS: readonly Toolset[] = ['marketdata', 'options', 'account', 'orders', 'session'];

const ConfigSchema = z.object({
  backend: z.enum(['sim', 'gateway']),
  gatewayUrl: z.url({ protocol: /^https?$/ }),
  gatewayInsecureTls: z.boolean(),
  requestTimeoutMs: z.number().int(),
  flexToken: z.string().optional(),
  flexUrl: z.url({ protocol: /^https?$/ }).optional(),
  websocket: z.boolean(),
  /** True when the gateway URL came from a flag or the environment (a gateway the user runs: never started or stopped by us). */
  gatewayUrlExplicit: z.boolean(),
  /** True when the user chose the gateway's port (then a busy port is an error, not a reason to take another). */
  gatewayPortExplicit: z.boolean(),
  gatewayDir: z.string().optional(),
  gatewayDownloadBase: z.url({ protocol: /^https?$/ }),
  gatewaySha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hexadecimal characters (a SHA-256)')
    .transform((s) => s.toLowerCase())
    .optional(),
  javaDownloadBase: z.url({ protocol: /^https?$/ }),
  keepaliveSeconds: z.number().int(),
  requestsPerSecond: z.number().int(),
  capture: z.string().optional(),
  ibUsername: z.string().optional(),
  ibPasswordAuth: z.string().optional(),
  ibHeadlessMode: z.boolean(),
  ibPaperTrading: z.boolean(),
  ibAuthTimeout: z.number().int(),
  ibTotpSecret: z.string().optional(),
  auth: z.enum(['gateway', 'oauth']),
  oauthConsumerKey: z.string().optional(),
  oauthAccessToken: z.string().optional(),
  oauthAccessTokenSecret: z.string().optional(),
  oauthSignatureKeyFile: z.string().optional(),
  oauthEncryptionKeyFile: z.string().optional(),
  oauthDhParamFile: z.string().optional(),
  oauthRealm: z.string(),
  oauthBaseUrl: z.url({ protocol: /^https?$/ }),
  allowCompetingSession: z.boolean(),
  openBrowser: z.boolean(),
  chromiumPath: z.string().optional(),
  loginSelectors: z
    .string()
    .refine((s) => {
      try {
        const v: unknown = JSON.parse(s);
        return (
          typeof v === 'object' &&
          v !== null &&
          !Array.isArray(v) &&
          Object.values(v).every((x) => typeof x === 'string')
        );
      } catch {
        return false;
      }
    }, 'must be a JSON object of selector strings, e.g. {"username":"#user"}')
    .optional(),
  readOnly: z.boolean(),
  allowLoginInReadOnly: z.boolean(),
  toolsets: z.array(z.enum(TOOLSETS)),
  ui: z.boolean(),
  tools: z.array(z.string()),
  excludeTools: z.array(z.string()),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']),
  transport: z.enum(['stdio', 'http']),
  host: z.string(),
  port: z.number().int(),
  token: z.string().optional(),
  tlsCert: z.string().optional(),
  tlsKey: z.string().optional(),
  insecureHttp: z.boolean(),
  allowedHosts: z.array(z.string()),
  allowedOrigins: z.array(z.string()),
  allowLiveTrading: z.boolean(),
  allowLiveWithoutApproval: z.boolean(),
  orderConfirmation: z.enum(['elicit', 'token', 'none']),
  maxOrderNotional: z.number().nonnegative(),
  maxOrderQuantity: z.number().nonnegative(),
  maxOrdersPerDay: z.number().int().nonnegative(),
  allowedAccounts: z.array(z.string()),
  allowedSymbols: z.array(z.string()),
  allowedSecTypes: z.array(z.string()),
  autoConfirmMessageIds: z.array(z.string()),
  confirmTokenTtlSeconds: z.number().int(),
  home: z.string(),
  simSeed: z.number().int(),
  simLatencyMs: z.number().int(),
});

export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Raw = string | boolean;

/** Splits argv into flags and positionals; accepts `--flag value`, `--flag=value` and bare booleans. */
export function parseArgv(
  argv: readonly string[],
  specs: readonly Pick<OptionSpec, 'flag' | 'type'>[],
): { flags: Map<string, Raw>; positionals: string[] } {
  const byFlag = new Map(specs.map((s) => [s.flag, s]));
  const flags = new Map<string, Raw>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      if (arg.startsWith('-') && arg !== '-') {
        if (arg === '-h') {
          flags.set('help', true);
          continue;
        }
        throw new ConfigError(`Unknown option ${arg}. Run with --help to see every option.`);
      }
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    if (name === 'help' || name === 'version') {
      flags.set(name, true);
      continue;
    }
    const spec = byFlag.get(name) ?? (name.startsWith('no-') ? byFlag.get(name.slice(3)) : undefined);
    if (!spec) throw new ConfigError(`Unknown option --${name}. Run with --help to see every option.`);
    if (spec.type === 'boolean') {
      if (name.startsWith('no-') && spec.flag !== name) {
        flags.set(spec.flag, false);
      } else if (eq >= 0) {
        flags.set(spec.flag, arg.slice(eq + 1));
      } else {
        const next = argv[i + 1];
        if (next !== undefined && /^(true|false|1|0|yes|no|on|off)$/i.test(next)) {
          flags.set(spec.flag, next);
          i++;
        } else {
          flags.set(spec.flag, true);
        }
      }
      continue;
    }
    if (eq >= 0) {
      flags.set(spec.flag, arg.slice(eq + 1));
    } else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw new ConfigError(`Option --${name} needs a value.`);
      }
      flags.set(spec.flag, next);
      i++;
    }
  }
  return { flags, positionals };
}

function describeSource(spec: OptionSpec, source: string): string {
  return source === 'flag' ? `--${spec.flag}` : source;
}

/** Converts one raw value by the option's type; the error names the flag or variable, never a secret's value. */
export function convert(spec: OptionSpec, raw: Raw, source: string): unknown {
  const where = describeSource(spec, source);
  const shown = spec.secret ? '(hidden)' : JSON.stringify(raw);
  if (spec.type === 'boolean') {
    if (typeof raw === 'boolean') return raw;
    const v = raw.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(v)) return true;
    if (['false', '0', 'no', 'off', ''].includes(v)) return false;
    throw new ConfigError(`${where} must be true or false, got ${shown}.`);
  }
  if (typeof raw === 'boolean') throw new ConfigError(`${where} needs a value.`);
  const text = raw.trim();
  switch (spec.type) {
    case 'string':
      if (text === '') throw new ConfigError(`${where} must not be empty.`);
      return spec.secret ? raw : text;
    case 'int':
    case 'number': {
      const n = Number(text);
      if (text === '' || !Number.isFinite(n) || (spec.type === 'int' && !Number.isInteger(n))) {
        throw new ConfigError(`${where} must be ${spec.type === 'int' ? 'a whole number' : 'a number'}, got ${shown}.`);
      }
      if (spec.min !== undefined && n < spec.min)
        throw new ConfigError(`${where} must be at least ${spec.min}, got ${n}.`);
      if (spec.max !== undefined && n > spec.max)
        throw new ConfigError(`${where} must be at most ${spec.max}, got ${n}.`);
      return n;
    }
    case 'enum': {
      const v = text.toLowerCase();
      if (!spec.values!.includes(v)) {
        throw new ConfigError(`${where} must be one of ${spec.values!.join(', ')}, got ${shown}.`);
      }
      return v;
    }
    case 'list':
      return text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
  }
}

function expandHome(p: string): string {
  if (p === '~') return homedir();
  if (p.startsWith('~/')) return resolve(homedir(), p.slice(2));
  return resolve(p);
}

/** Settings whose presence means the user wants a real gateway. */
const GATEWAY_HINTS = [
  'IB_GATEWAY_URL',
  'IB_GATEWAY_HOST',
  'IB_GATEWAY_PORT',
  'IB_USERNAME',
  'IB_PASSWORD_AUTH',
  'IB_HEADLESS_MODE',
  'IB_PAPER_TRADING',
  'IB_GATEWAY_DIR',
];

export interface LoadedConfig {
  config: Config;
  positionals: string[];
  help: boolean;
  version: boolean;
  /** Where each key's value came from: "flag", an env var name, or "default". */
  sources: Record<string, string>;
}

/**
 * An environment value, or undefined when it is empty or still a host placeholder: Claude Desktop
 * passes an optional .mcpb setting the user left blank as the literal `${user_config.name}`.
 */
export function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' || /^\$\{user_config\.[^}]*\}$/.test(v) ? undefined : v;
}

export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const { flags, positionals } = parseArgv(argv, OPTIONS);
  const values: Record<string, unknown> = {};
  const sources: Record<string, string> = {};
  for (const spec of OPTIONS) {
    const flag = flags.get(spec.flag);
    if (flag !== undefined) {
      values[spec.key] = convert(spec, flag, 'flag');
      sources[spec.key] = 'flag';
      continue;
    }
    const envName = spec.env.find((n) => envValue(env, n) !== undefined);
    if (envName) {
      values[spec.key] = convert(spec, envValue(env, envName)!, envName);
      sources[spec.key] = envName;
      continue;
    }
    if (spec.default !== undefined) {
      values[spec.key] = spec.default;
      sources[spec.key] = 'default';
    }
  }

  // The original product's IB_GATEWAY_HOST / IB_GATEWAY_PORT build the URL when no URL was given.
  const portOnly = sources['gatewayUrl'] === 'default' && !values['gatewayHost'] && values['gatewayPort'] !== undefined;
  if (sources['gatewayUrl'] === 'default' && (values['gatewayHost'] || values['gatewayPort'])) {
    const host = (values['gatewayHost'] as string | undefined) ?? 'localhost';
    const port = (values['gatewayPort'] as number | undefined) ?? 5000;
    const hasScheme = /^https?:\/\//.test(host);
    values['gatewayUrl'] = `${hasScheme ? host : `https://${host}`}:${port}`;
    sources['gatewayUrl'] = sources['gatewayHost'] ?? sources['gatewayPort'] ?? 'default';
  }
  // A port alone (--gateway-port, IB_GATEWAY_PORT) is the port of the gateway ibkr-mcp runs; a URL
  // or a host names a gateway the user runs.
  values['gatewayUrlExplicit'] = sources['gatewayUrl'] !== 'default' && !(portOnly as boolean);
  values['gatewayPortExplicit'] = values['gatewayPort'] !== undefined || (values['gatewayUrlExplicit'] as boolean);
  values['gatewayUrl'] = String(values['gatewayUrl'])
    .replace(/\/+$/, '')
    .replace(/\/v1\/api$/, '');

  if (values['backend'] === undefined && values['auth'] === 'oauth') {
    values['backend'] = 'gateway';
    sources['backend'] = 'derived';
  }
  if (values['auth'] === 'oauth' && values['backend'] === 'sim') {
    throw new ConfigError(
      '--auth oauth talks to IB (or a simulator started with `ibkr-mcp simulator --oauth`, named by --oauth-base-url), not to the built-in simulator: drop --backend sim.',
    );
  }
  for (const k of ['oauthSignatureKeyFile', 'oauthEncryptionKeyFile', 'oauthDhParamFile']) {
    if (typeof values[k] === 'string') values[k] = expandHome(values[k] as string);
  }
  if (values['backend'] === undefined) {
    const gatewayWanted =
      GATEWAY_HINTS.some((n) => envValue(env, n) !== undefined) ||
      [
        'gateway-url',
        'gateway-host',
        'gateway-port',
        'gateway-dir',
        'ib-username',
        'ib-password-auth',
        'ib-headless-mode',
      ].some((f) => flags.has(f));
    values['backend'] = gatewayWanted ? 'gateway' : 'sim';
    sources['backend'] = 'derived';
  }

  const toolsets = (values['toolsets'] as string[]).flatMap((t) =>
    t === 'all' ? [...TOOLSETS] : t === 'default' ? [...DEFAULT_TOOLSETS] : [t],
  );
  const bad = toolsets.filter((t) => !(TOOLSETS as readonly string[]).includes(t));
  if (bad.length) {
    throw new ConfigError(
      `--toolsets: unknown tool set ${bad.join(', ')}; valid: ${TOOLSETS.join(', ')}, default, all.`,
    );
  }
  // In the fixed order of TOOLSETS, each once.
  values['toolsets'] = TOOLSETS.filter((t) => toolsets.includes(t));
  values['home'] = expandHome(String(values['home']));
  if (typeof values['capture'] === 'string') values['capture'] = expandHome(values['capture']);

  const parsed = ConfigSchema.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = String(issue.path[0] ?? '');
    const spec = OPTIONS.find((o) => o.key === key);
    const name = spec ? `--${spec.flag}` : key;
    throw new ConfigError(`${name}: ${issue.message}`);
  }
  return {
    config: parsed.data,
    positionals,
    help: flags.get('help') === true,
    version: flags.get('version') === true,
    sources,
  };
}

/** The config as safe to print: secrets replaced. */
export function publicConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const spec of OPTIONS) {
    const v = (config as Record<string, unknown>)[spec.key];
    if (v === undefined) continue;
    out[spec.key] = spec.secret ? '[set]' : v;
  }
  return out;
}

export function helpText(): string {
  const lines: string[] = [
    'ibkr-mcp: an MCP server for Interactive Brokers',
    '',
    'Usage:',
    '  ibkr-mcp [serve] [options]     MCP server on stdio (default)',
    '  ibkr-mcp serve --transport http [--host 127.0.0.1] [--port 8765]',
    '                                 MCP server on Streamable HTTP at /mcp (bearer token, Host/Origin checks)',
    '  ibkr-mcp simulator [--port 5000] [--host 127.0.0.1] [--seed N] [--latency-ms N]',
    '                                 the Client Portal gateway simulator as a standalone process',
    '  ibkr-mcp demo                  a short tour of the tools on the simulator',
    "  ibkr-mcp setup [--install-java] Java and IB's gateway for the real-gateway backend, downloaded and verified",
    '  ibkr-mcp doctor                a pass/fail line per check of the real-gateway path, with what to do',
    "  ibkr-mcp oauth setup           IB's OAuth 1.0a: keys and DH parameters made here, the portal's steps, a live check",
    '  ibkr-mcp halt [reason]         kill switch: refuse every new or modified order (survives restarts)',
    '  ibkr-mcp resume                lift the kill switch',
    '  ibkr-mcp approvals setup|status|remove',
    '                                 the approval code for live orders, in your authenticator app',
    '  ibkr-mcp --help | --version',
    '',
    'Options (flag, environment variable; flags win over environment, environment over defaults):',
  ];
  let group = '';
  for (const spec of OPTIONS) {
    if (spec.group !== group) {
      group = spec.group;
      lines.push('', `  ${group}:`);
    }
    const value =
      spec.type === 'boolean'
        ? ''
        : spec.type === 'enum'
          ? ` <${spec.values!.join('|')}>`
          : spec.type === 'list'
            ? ' <a,b,…>'
            : spec.type === 'int' || spec.type === 'number'
              ? ' <n>'
              : ' <value>';
    const def =
      spec.default !== undefined && !spec.secret && !(Array.isArray(spec.default) && spec.default.length === 0)
        ? ` (default: ${Array.isArray(spec.default) ? spec.default.join(',') : String(spec.default)})`
        : '';
    lines.push(`    --${spec.flag}${value}  [${spec.env.join(', ')}]`);
    lines.push(`        ${spec.description}${def}`);
  }
  lines.push('');
  return lines.join('\n');
}
