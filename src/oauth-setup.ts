/**
 * `ibkr-mcp oauth setup`: IB's OAuth 1.0a for a first-party consumer, guided. Makes the two RSA
 * key pairs and the DH parameters here (Node's crypto, no OpenSSL), writes the public files to
 * upload, lists the self-service portal's steps in order, takes the consumer key, access token
 * and secret the portal shows, stores them owner-only, and checks the whole chain with one live
 * session token request, saying which step failed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { CpapiHttp, normaliseBaseUrl } from './backends/cpapi/http.js';
import { OAuthSigner } from './backends/cpapi/oauth.js';
import {
  generateOAuthFiles,
  loadOAuth,
  OAUTH_FILES,
  oauthDir,
  readStoredCredentials,
  writeOwnerOnly,
} from './backends/cpapi/oauth-files.js';
import { isBrokerError } from './broker/errors.js';
import { type Config, ConfigError, ensureHome, loadConfig } from './config/index.js';

/** IB's OAuth self-service portal (first-party consumers). */
export const SELF_SERVICE_PORTAL = 'https://ndcdyn.interactivebrokers.com/sso/Login?action=OAUTH&RL=1&ip2loc=US';

const LOCAL_FLAGS = ['--regenerate', '--standard-dh-group', '--no-validate'] as const;

export interface SetupIo {
  out: (line: string) => void;
  /** Asks for one value; undefined when nobody can answer (stdin is not a terminal). */
  ask?: (question: string) => Promise<string | undefined>;
}

function terminalIo(): SetupIo {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    ask: process.stdin.isTTY
      ? async (q) => {
          const rl = createInterface({ input: process.stdin, output: process.stdout });
          try {
            return (await rl.question(q)).trim() || undefined;
          } finally {
            rl.close();
          }
        }
      : undefined,
  };
}

export function oauthSetupHelp(): string {
  return [
    'ibkr-mcp oauth setup [--consumer-key K --oauth-access-token T --oauth-access-token-secret S]',
    '                     [--regenerate] [--standard-dh-group] [--no-validate] [--oauth-base-url URL] [--home DIR]',
    "  Prepares IB's OAuth 1.0a (first-party, self-service): keys and DH parameters in <home>/oauth",
    "  (private files owner-only), the portal's steps, then one live session token request as a check.",
    '  --regenerate          new keys even if some exist (the portal then needs the new public files)',
    '  --standard-dh-group   RFC 3526 group 14 as the DH prime instead of a new one (instant)',
    '  --no-validate         store the credentials without asking IB',
    '',
  ].join('\n');
}

export async function runOAuthSetup(argv: string[], io: SetupIo = terminalIo()): Promise<number> {
  const local = new Set(argv.filter((a) => (LOCAL_FLAGS as readonly string[]).includes(a)));
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(oauthSetupHelp());
    return 0;
  }
  const rest = argv
    .filter((a) => !local.has(a))
    .map((a) =>
      a === '--consumer-key' ? '--oauth-consumer-key' : a.startsWith('--consumer-key=') ? `--oauth-${a.slice(2)}` : a,
    );
  const { config, positionals } = loadConfig(rest);
  if (positionals.length)
    throw new ConfigError(`Unexpected argument "${positionals[0]}". Run ibkr-mcp oauth setup --help.`);
  ensureHome(config.home);
  const dir = oauthDir(config.home);
  const say = io.out;

  // 1. The key material.
  const have = [OAUTH_FILES.signatureKey, OAUTH_FILES.encryptionKey, OAUTH_FILES.dhParams].every((f) =>
    existsSync(join(dir, f)),
  );
  say('Step 1 of 4: keys and Diffie-Hellman parameters');
  if (have && !local.has('--regenerate')) {
    say(`  Using the keys already in ${dir} (--regenerate makes new ones).`);
  } else {
    say(
      local.has('--standard-dh-group')
        ? '  Generating two 2048-bit RSA key pairs; DH prime: RFC 3526 group 14.'
        : '  Generating two 2048-bit RSA key pairs and a 2048-bit DH prime (the prime can take a minute or two)…',
    );
    await generateOAuthFiles(dir, { fastDh: local.has('--standard-dh-group') });
    say(`  Written to ${dir} (private_*.pem readable by you only).`);
  }

  // 2. The portal.
  say('');
  say("Step 2 of 4: in IB's OAuth self-service portal");
  say(`  1. Log in at ${SELF_SERVICE_PORTAL} with the IB user the server will act for.`);
  say('  2. Choose a consumer key: 9 characters, letters and digits (e.g. MYIBKRMCP).');
  say(`  3. Upload ${join(dir, OAUTH_FILES.signaturePublic)} as the public signing key,`);
  say(`     ${join(dir, OAUTH_FILES.encryptionPublic)} as the public encryption key,`);
  say(`     ${join(dir, OAUTH_FILES.dhParams)} as the Diffie-Hellman parameters.`);
  say('  4. Generate the access token: the portal shows an access token and an access token secret. Copy both.');
  say('  5. IB activates a new consumer some time later (it can take days); until then IB answers 401.');

  // 3. The credentials.
  say('');
  say('Step 3 of 4: the consumer key, access token and secret');
  const stored = readStoredCredentials(config.home);
  const get = async (given: string | undefined, saved: string | undefined, question: string) =>
    given ?? (io.ask ? await io.ask(question) : undefined) ?? saved;
  const consumerKey = await get(config.oauthConsumerKey, stored.consumerKey, '  Consumer key: ');
  const accessToken = await get(config.oauthAccessToken, stored.accessToken, '  Access token: ');
  const accessTokenSecret = await get(
    config.oauthAccessTokenSecret,
    stored.accessTokenSecret,
    '  Access token secret: ',
  );
  if (!consumerKey || !accessToken || !accessTokenSecret) {
    say('  Not given yet: run this again with --consumer-key, --oauth-access-token and --oauth-access-token-secret');
    say('  (or in a terminal, to be asked) once the portal shows them.');
    return 1;
  }
  const credsPath = join(dir, OAUTH_FILES.credentials);
  writeOwnerOnly(
    credsPath,
    `${JSON.stringify({ consumerKey, accessToken, accessTokenSecret, realm: config.oauthRealm }, null, 2)}\n`,
  );
  say(`  Stored in ${credsPath} (readable by you only).`);

  if (local.has('--no-validate')) {
    say('');
    say('Step 4 of 4: skipped (--no-validate). Run `ibkr-mcp doctor --auth oauth` to check later.');
    return 0;
  }
  say('');
  say(`Step 4 of 4: one live session token request to ${config.oauthBaseUrl}`);
  const check = await checkOAuth({ ...config, oauthConsumerKey: consumerKey });
  for (const step of check.steps) say(`  ${stepLine(step)}`);
  if (check.ok) {
    say('');
    say('OAuth works. Start the server with: ibkr-mcp --auth oauth   (or IB_AUTH=oauth)');
  }
  return check.ok ? 0 : 1;
}

export interface OAuthStep {
  name: string;
  status: 'pass' | 'fail';
  detail: string;
  fix?: string;
}

export interface OAuthCheck {
  ok: boolean;
  steps: OAuthStep[];
  /** The step that failed. */
  failedStep?: string;
  /** When ok and kept: the signer holding the live session token, and what closes it. */
  signer?: OAuthSigner;
  close?: () => Promise<void>;
}

export function stepLine(s: OAuthStep): string {
  return s.status === 'pass'
    ? `✓ ${s.name}: ${s.detail}`
    : `✗ ${s.name}: ${s.detail}${s.fix ? ` What to do: ${s.fix}` : ''}`;
}

const DECRYPT_STEP = 'decrypt the access token secret';

/**
 * The OAuth chain, step by step: every part readable, the secret decrypts, IB gives and proves a
 * live session token. With `keep`, the signer is handed back (holding its token) instead of closed.
 */
export async function checkOAuth(config: Config, keep = false): Promise<OAuthCheck> {
  const steps: OAuthStep[] = [];
  const { credentials, parts } = loadOAuth(config);
  for (const p of parts) {
    steps.push(
      p.ok
        ? { name: p.name, status: 'pass', detail: p.source }
        : { name: p.name, status: 'fail', detail: p.problem ?? 'missing' },
    );
  }
  if (!credentials) return { ok: false, steps, failedStep: 'read the OAuth setup' };
  const { origin, basePath } = normaliseBaseUrl(config.oauthBaseUrl);
  const signer = new OAuthSigner({ credentials, baseUrl: `${origin}${basePath}` });
  const http = new CpapiHttp({ baseUrl: config.oauthBaseUrl, signer, timeoutMs: 15_000, maxRetries: 0 });
  let handedOver = false;
  const decrypts: OAuthStep = { name: DECRYPT_STEP, status: 'pass', detail: 'with the encryption key' };
  try {
    await signer.renew();
    const exp = signer.expiresAt();
    steps.push(decrypts, {
      name: 'live session token',
      status: 'pass',
      detail: `IB gave one for consumer ${credentials.consumerKey} (realm ${credentials.realm}) and proved it${exp ? `; valid until ${new Date(exp).toISOString()}, renewed before then` : ''}`,
    });
    if (keep) {
      handedOver = true;
      return {
        ok: true,
        steps,
        signer,
        close: async () => {
          signer.close();
          await http.close();
        },
      };
    }
    return { ok: true, steps };
  } catch (err) {
    const step = isBrokerError(err)
      ? String((err.details?.['oauth'] as { step?: string } | undefined)?.step ?? '') || 'reach IB'
      : 'reach IB';
    if (step !== DECRYPT_STEP) steps.push(decrypts);
    const hint = isBrokerError(err) ? err.hint : undefined;
    steps.push({
      name: step,
      status: 'fail',
      detail: err instanceof Error ? err.message : String(err),
      ...(hint ? { fix: hint } : {}),
    });
    return { ok: false, steps, failedStep: step };
  } finally {
    if (!handedOver) {
      signer.close();
      await http.close();
    }
  }
}
