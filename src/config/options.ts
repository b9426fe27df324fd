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
  group: 'Backend' | 'IB login' | 'IB OAuth' | 'Server' | 'Trading safety' | 'Simulator' | 'State';
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
    description:
      "Port of the gateway ibkr-mcp runs (default 5000; when 5000 is busy and no port is given, a free one from 5001 is taken and logged). With --gateway-host: the port of a gateway you run (the original product's setting).",
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
    key: 'flexToken',
    flag: 'flex-token',
    env: ['IB_FLEX_TOKEN'],
    type: 'string',
    secret: true,
    group: 'Backend',
    description:
      "Token of IB's Flex Web Service (Client Portal: Performance & Reports > Flex Queries > Flex Web Service Configuration), for get_flex_query. Never logged. With the simulator, its own token is used when unset.",
  },
  {
    key: 'flexUrl',
    flag: 'flex-url',
    env: ['IB_FLEX_URL'],
    type: 'string',
    group: 'Backend',
    description:
      "Base URL of IB's Flex Web Service (https; http only on this machine). Default: IB's, or the built-in simulator's with --backend sim.",
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
  {
    key: 'websocket',
    flag: 'websocket',
    env: ['IBKR_MCP_WEBSOCKET'],
    type: 'boolean',
    default: true,
    group: 'Backend',
    description:
      "Open IB's WebSocket after each login: live orders, order status, streamed quotes and the session's end arrive pushed, without polling. --no-websocket reads everything over REST.",
  },
  {
    key: 'gatewayDir',
    flag: 'gateway-dir',
    env: ['IB_GATEWAY_DIR'],
    type: 'string',
    group: 'Backend',
    description:
      "An unpacked Client Portal gateway distribution (the folder with bin/, dist/, root/) that ibkr-mcp starts and stops itself. Without it and without --gateway-url, `ibkr-mcp setup` (or the first use) downloads IB's gateway into the cache under --home.",
  },
  {
    key: 'gatewayDownloadBase',
    flag: 'gateway-download-base',
    env: ['IBKR_MCP_GATEWAY_DOWNLOAD_BASE'],
    type: 'string',
    default: 'https://download2.interactivebrokers.com/portal',
    group: 'Backend',
    description: "Where IB's gateway archive (clientportal.gw.zip) is downloaded from.",
  },
  {
    key: 'gatewaySha256',
    flag: 'gateway-sha256',
    env: ['IBKR_MCP_GATEWAY_SHA256'],
    type: 'string',
    group: 'Backend',
    description:
      'SHA-256 the downloaded gateway archive must have. Without it the hash of the first download is pinned in the cache and later downloads must match it; pass the new hash here when IB publishes a new gateway.',
  },
  {
    key: 'javaDownloadBase',
    flag: 'java-download-base',
    env: ['IBKR_MCP_JAVA_DOWNLOAD_BASE'],
    type: 'string',
    default: 'https://api.adoptium.net',
    group: 'Backend',
    description:
      'Where a Temurin JRE is downloaded from (Adoptium API) when no suitable Java is installed: at the first start of the managed gateway, or by `ibkr-mcp setup --install-java`.',
  },
  {
    key: 'keepaliveSeconds',
    flag: 'keepalive-seconds',
    env: ['IBKR_MCP_KEEPALIVE_SECONDS'],
    type: 'int',
    default: 55,
    min: 1,
    max: 60,
    group: 'Backend',
    description:
      'Seconds between keep-alive calls (/tickle) while authenticated; IB ends idle sessions after about 5 minutes.',
  },
  {
    key: 'requestsPerSecond',
    flag: 'requests-per-second',
    env: ['IBKR_MCP_REQUESTS_PER_SECOND'],
    type: 'int',
    default: 8,
    min: 1,
    max: 10,
    group: 'Backend',
    description:
      "Requests per second ibkr-mcp sends to the gateway (IB allows 10 for all its clients together); the rest is left to IB's web portal or another tool, since a 429 can block the IP for 15 minutes.",
  },
  {
    key: 'capture',
    flag: 'capture',
    env: ['IBKR_MCP_CAPTURE'],
    type: 'string',
    group: 'Backend',
    description:
      "Record every gateway request and answer of the session into this directory (created owner-only; must hold no capture yet), redacted: account ids, names, session ids, user ids and addresses replaced, the account's amounts scaled by a random factor. The files are test fixtures and can be replayed with `ibkr-mcp simulator --replay DIR` (docs/capture.md).",
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
  // IB OAuth 1.0a (first party, self-service): api.ibkr.com without a gateway
  {
    key: 'auth',
    flag: 'auth',
    env: ['IB_AUTH'],
    type: 'enum',
    values: ['gateway', 'oauth'],
    default: 'gateway',
    group: 'IB OAuth',
    description:
      'How to reach IB: "gateway" (a Client Portal gateway and its login) or "oauth" (IB\'s OAuth 1.0a for first-party consumers: requests signed here and sent to IB\'s API directly, no gateway, no browser). `ibkr-mcp oauth setup` prepares OAuth.',
  },
  {
    key: 'oauthConsumerKey',
    flag: 'oauth-consumer-key',
    env: ['IB_OAUTH_CONSUMER_KEY'],
    type: 'string',
    group: 'IB OAuth',
    description: "The consumer key chosen in IB's OAuth self-service portal (9 characters).",
  },
  {
    key: 'oauthAccessToken',
    flag: 'oauth-access-token',
    env: ['IB_OAUTH_ACCESS_TOKEN'],
    type: 'string',
    secret: true,
    group: 'IB OAuth',
    description: 'The access token the self-service portal showed. Never logged.',
  },
  {
    key: 'oauthAccessTokenSecret',
    flag: 'oauth-access-token-secret',
    env: ['IB_OAUTH_ACCESS_TOKEN_SECRET'],
    type: 'string',
    secret: true,
    group: 'IB OAuth',
    description:
      'The access token secret the self-service portal showed (base64, encrypted with your encryption key). Never logged.',
  },
  {
    key: 'oauthSignatureKeyFile',
    flag: 'oauth-signature-key-file',
    env: ['IB_OAUTH_SIGNATURE_KEY_FILE'],
    type: 'string',
    group: 'IB OAuth',
    description:
      "PEM file of the private RSA signature key (default: private_signature.pem in the state directory's oauth folder, as `ibkr-mcp oauth setup` writes it).",
  },
  {
    key: 'oauthEncryptionKeyFile',
    flag: 'oauth-encryption-key-file',
    env: ['IB_OAUTH_ENCRYPTION_KEY_FILE'],
    type: 'string',
    group: 'IB OAuth',
    description: 'PEM file of the private RSA encryption key (default: private_encryption.pem in the oauth folder).',
  },
  {
    key: 'oauthDhParamFile',
    flag: 'oauth-dh-param-file',
    env: ['IB_OAUTH_DH_PARAM_FILE'],
    type: 'string',
    group: 'IB OAuth',
    description:
      'Diffie-Hellman parameters uploaded to the portal, PEM as `openssl dhparam` writes it (default: dhparam.pem in the oauth folder).',
  },
  {
    key: 'oauthRealm',
    flag: 'oauth-realm',
    env: ['IB_OAUTH_REALM'],
    type: 'string',
    default: 'limited_poa',
    group: 'IB OAuth',
    description: "OAuth realm: limited_poa, or test_realm for IB's test consumer TESTCONS.",
  },
  {
    key: 'oauthBaseUrl',
    flag: 'oauth-base-url',
    env: ['IB_OAUTH_BASE_URL'],
    type: 'string',
    default: 'https://api.ibkr.com/v1/api',
    group: 'IB OAuth',
    description: 'Where OAuth requests go (a simulator started with `ibkr-mcp simulator --oauth` for a trial).',
  },
  {
    key: 'allowCompetingSession',
    flag: 'allow-competing-session',
    env: ['IB_ALLOW_COMPETING_SESSION'],
    type: 'boolean',
    default: false,
    group: 'IB login',
    description:
      'When the brokerage session is lost, take it over even if TWS or IB mobile holds it (compete=true), which logs those out. Off by default.',
  },
  {
    key: 'openBrowser',
    flag: 'open-browser',
    env: ['IBKR_MCP_OPEN_BROWSER'],
    type: 'boolean',
    default: true,
    group: 'IB login',
    description: "Open the gateway's login page in your browser when a login is needed (not in headless mode).",
  },
  {
    key: 'chromiumPath',
    flag: 'chromium-path',
    env: ['IBKR_MCP_CHROMIUM_PATH'],
    type: 'string',
    group: 'IB login',
    description:
      "Chrome, Chromium or Edge executable for headless login; default: the first found on the PATH or where the platform installs them, else a Chromium that the first headless login installs into ibkr-mcp's cache with playwright's installer.",
  },
  {
    key: 'loginSelectors',
    flag: 'login-selectors',
    env: ['IBKR_MCP_LOGIN_SELECTORS'],
    type: 'string',
    group: 'IB login',
    description:
      'JSON object overriding CSS selectors of the login page for headless login: username, password, paperToggle, submit, totpInput, totpSubmit, error, success.',
  },
  // Server
  {
    key: 'readOnly',
    flag: 'read-only',
    env: ['IB_READ_ONLY_MODE'],
    type: 'boolean',
    default: false,
    group: 'Server',
    description:
      'Register no tool that can place, modify or cancel orders, and no login tool (see --allow-login-in-read-only). Wins over every other tool selection.',
  },
  {
    key: 'allowLoginInReadOnly',
    flag: 'allow-login-in-read-only',
    env: ['IBKR_MCP_ALLOW_LOGIN_IN_READ_ONLY'],
    type: 'boolean',
    default: false,
    group: 'Server',
    description:
      'With --read-only, still register the authenticate tool, so that a client can start an IB login. Without it a read-only server never starts a login on request.',
  },
  {
    key: 'ui',
    flag: 'ui',
    env: ['IBKR_MCP_UI'],
    type: 'boolean',
    default: true,
    group: 'Server',
    description:
      'Offer MCP Apps views (order ticket, portfolio, option chain, chart) to clients that declare the io.modelcontextprotocol/ui extension; a LIVE order is then approved in the order ticket. --no-ui leaves every client with the plain tools.',
  },
  {
    key: 'toolsets',
    flag: 'toolsets',
    env: ['IBKR_MCP_TOOLSETS'],
    type: 'list',
    default: ['default'],
    group: 'Server',
    description:
      'Tool sets to expose at start: marketdata, chart, options, account, orders, order_groups, alerts, research, statements, session; default (all but chart, order_groups, alerts, research and statements) or all. The others can be switched on during a conversation with enable_toolset.',
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
  // Remote use (Streamable HTTP)
  {
    key: 'transport',
    flag: 'transport',
    env: ['IBKR_MCP_TRANSPORT'],
    type: 'enum',
    values: ['stdio', 'http'],
    default: 'stdio',
    group: 'Server',
    description: 'MCP transport: "stdio" for a client that starts the server, "http" for Streamable HTTP at /mcp.',
  },
  {
    key: 'host',
    flag: 'host',
    env: ['IBKR_MCP_HOST'],
    type: 'string',
    default: '127.0.0.1',
    group: 'Server',
    description:
      'HTTP transport: address to bind. Loopback by default; any other address needs TLS (--tls-cert/--tls-key) or --insecure-http.',
  },
  {
    key: 'port',
    flag: 'port',
    env: ['IBKR_MCP_PORT'],
    type: 'int',
    default: 8765,
    min: 0,
    max: 65535,
    group: 'Server',
    description: 'HTTP transport: port to listen on (0 picks a free one).',
  },
  {
    key: 'token',
    flag: 'token',
    env: ['IBKR_MCP_TOKEN'],
    type: 'string',
    secret: true,
    group: 'Server',
    description:
      'HTTP transport: bearer token clients must send (at least 32 characters). Default: generated on first start, stored owner-only in the state directory.',
  },
  {
    key: 'tlsCert',
    flag: 'tls-cert',
    env: ['IBKR_MCP_TLS_CERT'],
    type: 'string',
    group: 'Server',
    description: 'HTTP transport: PEM certificate file; with --tls-key the server speaks HTTPS.',
  },
  {
    key: 'tlsKey',
    flag: 'tls-key',
    env: ['IBKR_MCP_TLS_KEY'],
    type: 'string',
    group: 'Server',
    description: 'HTTP transport: PEM private key file for --tls-cert.',
  },
  {
    key: 'insecureHttp',
    flag: 'insecure-http',
    env: ['IBKR_MCP_INSECURE_HTTP'],
    type: 'boolean',
    default: false,
    group: 'Server',
    description:
      'HTTP transport: allow plain HTTP on a non-loopback address (only behind a TLS-terminating proxy or on a trusted network).',
  },
  {
    key: 'allowedHosts',
    flag: 'allowed-hosts',
    env: ['IBKR_MCP_ALLOWED_HOSTS'],
    type: 'list',
    default: [],
    group: 'Server',
    description:
      'HTTP transport: extra host names clients use to reach the server (Host and Origin checks); loopback names and the bound address are always allowed.',
  },
  {
    key: 'allowedOrigins',
    flag: 'allowed-origins',
    env: ['IBKR_MCP_ALLOWED_ORIGINS'],
    type: 'list',
    default: [],
    group: 'Server',
    description:
      "HTTP transport: extra browser origins allowed to call the server, exactly as scheme://host:port (e.g. http://localhost:6274 for the MCP Inspector). The server's own origins are always allowed.",
  },
  // Trading safety
  {
    key: 'allowLiveTrading',
    flag: 'allow-live-trading',
    env: ['IB_ALLOW_LIVE_TRADING'],
    type: 'boolean',
    default: false,
    group: 'Trading safety',
    description:
      'Allow orders on a LIVE account (real money). Without it every order, modification and cancel on a live account is refused. Paper and live are told apart by what IB answers (its isPaper flag, else the paper account prefix), never by a port or setting.',
  },
  {
    key: 'allowLiveWithoutApproval',
    flag: 'allow-live-without-approval',
    env: ['IBKR_MCP_ALLOW_LIVE_WITHOUT_APPROVAL'],
    type: 'boolean',
    default: false,
    group: 'Trading safety',
    description:
      'With --allow-live-trading and --order-confirmation none: send LIVE orders without asking the human. Without it, every live order, modification and cancel-all needs their approval (a dialog, or a code from `ibkr-mcp approvals setup`).',
  },
  {
    key: 'orderConfirmation',
    flag: 'order-confirmation',
    env: ['IBKR_MCP_ORDER_CONFIRMATION'],
    type: 'enum',
    values: ['elicit', 'token', 'none'],
    default: 'elicit',
    group: 'Trading safety',
    description:
      'How an order is confirmed before it is sent: "elicit" shows it to the human through the client (falls back to "token" when the client cannot); "token" returns a preview and a single-use 2-minute token for confirm_order; "none" sends at once (paper/simulator; live only with --allow-live-trading and --allow-live-without-approval). A LIVE order always needs the human: a dialog they answer, else an approval code (`ibkr-mcp approvals setup`), else it is refused.',
  },
  {
    key: 'maxOrderNotional',
    flag: 'max-order-notional',
    env: ['IBKR_MCP_MAX_ORDER_NOTIONAL'],
    type: 'number',
    default: 25000,
    min: 0,
    group: 'Trading safety',
    description:
      "Largest order value, in the account's currency (market orders valued at the ask/bid or IB's what-if). An order whose value cannot be determined is refused.",
  },
  {
    key: 'maxOrderQuantity',
    flag: 'max-order-quantity',
    env: ['IBKR_MCP_MAX_ORDER_QUANTITY'],
    type: 'number',
    default: 1000,
    min: 0,
    group: 'Trading safety',
    description: 'Largest quantity of one order (shares or contracts).',
  },
  {
    key: 'maxOrdersPerDay',
    flag: 'max-orders-per-day',
    env: ['IBKR_MCP_MAX_ORDERS_PER_DAY'],
    type: 'int',
    default: 50,
    min: 0,
    max: 100000,
    group: 'Trading safety',
    description: 'Most orders sent in any 24 hours (counted from the order journal, so restarts do not reset it).',
  },
  {
    key: 'allowedAccounts',
    flag: 'allowed-accounts',
    env: ['IBKR_MCP_ALLOWED_ACCOUNTS'],
    type: 'list',
    default: [],
    group: 'Trading safety',
    description: 'Accounts orders may be sent for (comma-separated). Empty: any account of the session.',
  },
  {
    key: 'allowedSymbols',
    flag: 'allowed-symbols',
    env: ['IBKR_MCP_ALLOWED_SYMBOLS'],
    type: 'list',
    default: [],
    group: 'Trading safety',
    description: 'Symbols orders may be sent for (options by their underlying). Empty: any symbol.',
  },
  {
    key: 'allowedSecTypes',
    flag: 'allowed-sec-types',
    env: ['IBKR_MCP_ALLOWED_SEC_TYPES'],
    type: 'list',
    default: ['STK', 'OPT'],
    group: 'Trading safety',
    description: 'Security types orders may be sent for.',
  },
  {
    key: 'autoConfirmMessageIds',
    flag: 'auto-confirm-message-ids',
    env: ['IBKR_MCP_AUTO_CONFIRM_MESSAGE_IDS'],
    type: 'list',
    default: ['o10151', 'o10152', 'o10153', 'o10331'],
    group: 'Trading safety',
    description:
      'IB message ids of informational order notices answered "yes" automatically (market, stop and cap-price risk notices); any other IB warning needs the same approval as the order.',
  },
  {
    key: 'confirmTokenTtlSeconds',
    flag: 'confirm-token-ttl',
    env: ['IBKR_MCP_CONFIRM_TOKEN_TTL'],
    type: 'int',
    default: 120,
    min: 1,
    max: 120,
    group: 'Trading safety',
    description: 'Lifetime of a confirmation token in seconds (at most 120).',
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
