/**
 * Every configuration option, once: its flag, its environment variables, its type,
 * its default and its help text. The parser, `--help` and the README table all come from here.
 */

export type OptionType = 'string' | 'boolean' | 'int' | 'number' | 'list' | 'enum';

export interface OptionSpec {
  /** Key in the Config object. */
  key: string;
  /** Long flag without dashes, e.g. "gateway-url". */
  flag: string;
  /** Environment variables, first one is the documented one. */
  env: string[];
  type: OptionType;
  values?: readonly string[];
  default?: string | number | boolean | string[];
  /** Never printed: not in --help defaults, not in logs. */
  secret?: boolean;
  /** Shown in the help text's group headings. */
  group: 'Backend' | 'IB login' | 'Server' | 'Trading safety' | 'Simulator' | 'State';
  description: string;
  min?: number;
  max?: number;
}

export const OPTIONS: readonly OptionSpec[] = [
  // Backend
  {
    key: 'backend',
    flag: 'backend',
    env: ['IB_BACKEND'],
    type: 'enum',
    values: ['sim', 'gateway'],
    group: 'Backend',
    description:
      'Where IB requests go: "sim" starts the built-in simulator, "gateway" uses a Client Portal gateway. Default: gateway if any gateway or login setting is present, else sim.',
  },
  {
    key: 'gatewayUrl',
    flag: 'gateway-url',
    env: ['IB_GATEWAY_URL'],
    type: 'string',
    default: 'https://localhost:5000',
    group: 'Backend',
    description:
      'URL of a running Client Portal gateway, real or simulated (IB_GATEWAY_HOST/IB_GATEWAY_PORT of the original product are accepted too).',
  },
  {
    key: 'gatewayHost',
    flag: 'gateway-host',
    env: ['IB_GATEWAY_HOST'],
    type: 'string',
    group: 'Backend',
    description: "Gateway host (original product's setting); combined with --gateway-port into the gateway URL.",
  },
  {
    key: 'gatewayPort',
    flag: 'gateway-port',
    env: ['IB_GATEWAY_PORT'],
    type: 'int',
    min: 1,
    max: 65535,
    group: 'Backend',
    description: "Gateway port (original product's setting); combined with --gateway-host into the gateway URL.",
  },
  {
    key: 'gatewayInsecureTls',
    flag: 'gateway-insecure-tls',
    env: ['IB_GATEWAY_INSECURE_TLS'],
    type: 'boolean',
    default: false,
    group: 'Backend',
    description:
      'Accept a self-signed certificate from a non-loopback gateway. Loopback gateways are always accepted; remote ones are verified unless this is set.',
  },
  {
    key: 'requestTimeoutMs',
    flag: 'request-timeout-ms',
    env: ['IB_REQUEST_TIMEOUT_MS'],
    type: 'int',
    default: 15000,
    min: 100,
    max: 600000,
    group: 'Backend',
    description: 'Timeout of every request to the gateway, in milliseconds.',
  },
  // IB login (names of the original product)
  {
    key: 'ibUsername',
    flag: 'ib-username',
    env: ['IB_USERNAME'],
    type: 'string',
    group: 'IB login',
    description: 'IB username for headless login.',
  },
  {
    key: 'ibPasswordAuth',
    flag: 'ib-password-auth',
    env: ['IB_PASSWORD_AUTH'],
    type: 'string',
    secret: true,
    group: 'IB login',
    description: 'IB password for headless login. Never logged or written to disk.',
  },
  {
    key: 'ibHeadlessMode',
    flag: 'ib-headless-mode',
    env: ['IB_HEADLESS_MODE'],
    type: 'boolean',
    default: false,
    group: 'IB login',
    description: 'Log in without opening a browser window, using the username and password.',
  },
  {
    key: 'ibPaperTrading',
    flag: 'ib-paper-trading',
    env: ['IB_PAPER_TRADING'],
    type: 'boolean',
    default: false,
    group: 'IB login',
    description: 'Use the paper-trading login.',
  },
  {
    key: 'ibAuthTimeout',
    flag: 'ib-auth-timeout',
    env: ['IB_AUTH_TIMEOUT'],
    type: 'int',
    default: 60,
    min: 5,
    max: 3600,
    group: 'IB login',
    description: 'Seconds to wait for a login (including the second factor) to complete.',
  },
  {
    key: 'ibTotpSecret',
    flag: 'ib-totp-secret',
    env: ['IB_TOTP_SECRET'],
    type: 'string',
    secret: true,
    group: 'IB login',
    description: 'Base32 TOTP secret for the second factor in headless login. Never logged.',
  },
  // Server
  {
    key: 'readOnly',
    flag: 'read-only',
    env: ['IB_READ_ONLY_MODE'],
    type: 'boolean',
    default: false,
    group: 'Server',
    description: 'Register no tool that can place, modify or cancel orders. Wins over every other tool selection.',
  },
  {
    key: 'toolsets',
    flag: 'toolsets',
    env: ['IBKR_MCP_TOOLSETS'],
    type: 'list',
    default: ['all'],
    group: 'Server',
    description: 'Tool sets to expose: marketdata, options, account, orders, session, or all.',
  },
  {
    key: 'tools',
    flag: 'tools',
    env: ['IBKR_MCP_TOOLS'],
    type: 'list',
    default: [],
    group: 'Server',
    description: 'Expose only these tools (comma-separated names), within the tool sets.',
  },
  {
    key: 'excludeTools',
    flag: 'exclude-tools',
    env: ['IBKR_MCP_EXCLUDE_TOOLS'],
    type: 'list',
    default: [],
    group: 'Server',
    description: 'Tools to hide (comma-separated names).',
  },
  {
    key: 'logLevel',
    flag: 'log-level',
    env: ['IBKR_MCP_LOG_LEVEL'],
    type: 'enum',
    values: ['debug', 'info', 'warn', 'error', 'silent'],
    default: 'info',
    group: 'Server',
    description: 'Log level of the structured log on stderr.',
  },
  // State
  {
    key: 'home',
    flag: 'home',
    env: ['IBKR_MCP_HOME'],
    type: 'string',
    default: '~/.ibkr-mcp',
    group: 'State',
    description: 'Directory for all state (order journal, tokens, caches, gateway), created owner-only.',
  },
  // Simulator
  {
    key: 'simSeed',
    flag: 'sim-seed',
    env: ['IBKR_MCP_SIM_SEED'],
    type: 'int',
    default: 42,
    min: 0,
    max: 2147483647,
    group: 'Simulator',
    description: 'Seed of the built-in simulator (same seed, same prices).',
  },
  {
    key: 'simLatencyMs',
    flag: 'sim-latency-ms',
    env: ['IBKR_MCP_SIM_LATENCY_MS'],
    type: 'int',
    default: 0,
    min: 0,
    max: 60000,
    group: 'Simulator',
    description: 'Latency the built-in simulator adds to every request, in milliseconds.',
  },
];
