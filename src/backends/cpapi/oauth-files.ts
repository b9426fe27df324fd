/**
 * The OAuth material on disk: where `ibkr-mcp oauth setup` writes it (the state directory's oauth
 * folder, owner-only), how it is generated (Node's crypto, no OpenSSL binary), and how the
 * configuration's settings become OAuthCredentials.
 */
import { generateKeyPairSync, generatePrime, getDiffieHellman } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Config, ConfigError } from '../../config/index.js';
import { addSecret } from '../../log.js';
import type { OAuthCredentials } from './oauth.js';
import { bigintFromBytes, dhParamsPem, readDhParams, readPrivateKey } from './oauth-crypto.js';

export const OAUTH_FILES = {
  signatureKey: 'private_signature.pem',
  signaturePublic: 'public_signature.pem',
  encryptionKey: 'private_encryption.pem',
  encryptionPublic: 'public_encryption.pem',
  dhParams: 'dhparam.pem',
  /** Consumer key, access token and secret as setup accepted them (owner-only). */
  credentials: 'credentials.json',
} as const;

export function oauthDir(home: string): string {
  return join(home, 'oauth');
}

/** Writes a file only its owner can read (0600), in a folder only its owner can enter (0700). */
export function writeOwnerOnly(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}

export interface StoredCredentials {
  consumerKey?: string;
  accessToken?: string;
  accessTokenSecret?: string;
  realm?: string;
}

export function readStoredCredentials(home: string): StoredCredentials {
  const p = join(oauthDir(home), OAUTH_FILES.credentials);
  if (!existsSync(p)) return {};
  try {
    const v = JSON.parse(readFileSync(p, 'utf8')) as StoredCredentials;
    addSecret(v.accessToken);
    addSecret(v.accessTokenSecret);
    return v;
  } catch {
    return {};
  }
}

/** One piece of the OAuth configuration: where it comes from and whether it is there. */
export interface OAuthPart {
  name: string;
  setting: string;
  source: string;
  ok: boolean;
  problem?: string;
}

export interface LoadedOAuth {
  credentials: OAuthCredentials | undefined;
  parts: OAuthPart[];
}

type OAuthConfig = Pick<
  Config,
  | 'home'
  | 'oauthConsumerKey'
  | 'oauthAccessToken'
  | 'oauthAccessTokenSecret'
  | 'oauthSignatureKeyFile'
  | 'oauthEncryptionKeyFile'
  | 'oauthDhParamFile'
  | 'oauthRealm'
>;

/**
 * Reads every part (settings first, then what setup stored in the state directory); each part says
 * whether it is usable. Never puts a secret in a problem text.
 */
export function loadOAuth(config: OAuthConfig): LoadedOAuth {
  const stored = readStoredCredentials(config.home);
  const dir = oauthDir(config.home);
  const parts: OAuthPart[] = [];
  const value = (name: string, setting: string, given: string | undefined, saved: string | undefined) => {
    const v = given ?? saved;
    parts.push({
      name,
      setting,
      source: given ? setting : saved ? `${dir}/${OAUTH_FILES.credentials}` : 'missing',
      ok: v !== undefined && v.trim() !== '',
      ...(v ? {} : { problem: `not set: set ${setting} or run \`ibkr-mcp oauth setup\`` }),
    });
    return v?.trim();
  };
  const consumerKey = value('consumer key', 'IB_OAUTH_CONSUMER_KEY', config.oauthConsumerKey, stored.consumerKey);
  const accessToken = value('access token', 'IB_OAUTH_ACCESS_TOKEN', config.oauthAccessToken, stored.accessToken);
  const encryptedSecret = value(
    'access token secret',
    'IB_OAUTH_ACCESS_TOKEN_SECRET',
    config.oauthAccessTokenSecret,
    stored.accessTokenSecret,
  );
  addSecret(accessToken);
  addSecret(encryptedSecret);
  const file = <T>(
    name: string,
    setting: string,
    given: string | undefined,
    fallback: string,
    read: (t: string) => T,
  ) => {
    const path = given ?? join(dir, fallback);
    const part: OAuthPart = { name, setting, source: path, ok: false };
    parts.push(part);
    if (!existsSync(path)) {
      part.problem = `${path} does not exist: set ${setting} or run \`ibkr-mcp oauth setup\``;
      return undefined;
    }
    try {
      const v = read(readFileSync(path, 'utf8'));
      part.ok = true;
      return v;
    } catch (err) {
      part.problem = `${path} could not be read as ${name}: ${(err as Error).message.split('\n')[0]}`;
      return undefined;
    }
  };
  const signatureKey = file(
    'private signature key',
    'IB_OAUTH_SIGNATURE_KEY_FILE',
    config.oauthSignatureKeyFile,
    OAUTH_FILES.signatureKey,
    readPrivateKey,
  );
  const encryptionKey = file(
    'private encryption key',
    'IB_OAUTH_ENCRYPTION_KEY_FILE',
    config.oauthEncryptionKeyFile,
    OAUTH_FILES.encryptionKey,
    readPrivateKey,
  );
  const dh = file(
    'DH parameters',
    'IB_OAUTH_DH_PARAM_FILE',
    config.oauthDhParamFile,
    OAUTH_FILES.dhParams,
    readDhParams,
  );
  // IB's test consumer TESTCONS lives in test_realm; everyone else in limited_poa (or as configured).
  const chosen = config.oauthRealm || stored.realm || 'limited_poa';
  const realm = consumerKey === 'TESTCONS' && chosen === 'limited_poa' ? 'test_realm' : chosen;
  const credentials =
    consumerKey && accessToken && encryptedSecret && signatureKey && encryptionKey && dh
      ? {
          consumerKey,
          accessToken,
          encryptedSecret,
          signatureKey,
          encryptionKey,
          dhPrime: dh.prime,
          dhGenerator: dh.generator,
          realm,
        }
      : undefined;
  return { credentials, parts };
}

/** The credentials, or an error that lists every missing or unreadable part and what to do. */
export function loadOAuthCredentials(config: OAuthConfig): OAuthCredentials {
  const { credentials, parts } = loadOAuth(config);
  if (credentials) return credentials;
  const bad = parts.filter((p) => !p.ok).map((p) => `- ${p.name}: ${p.problem}`);
  throw new ConfigError(`--auth oauth: the OAuth setup is incomplete.\n${bad.join('\n')}`);
}

export interface GeneratedKeys {
  files: Record<keyof typeof OAUTH_FILES, string>;
}

/** A 2048-bit safe prime (as `openssl dhparam 2048`), or RFC 3526 group 14's when `fast`. */
export async function makeDhPrime(fast = false): Promise<bigint> {
  if (fast) return bigintFromBytes(getDiffieHellman('modp14').getPrime());
  return new Promise((resolve, reject) =>
    generatePrime(2048, { safe: true, bigint: true }, (err, p) => (err ? reject(err) : resolve(p as bigint))),
  );
}

/** The two RSA key pairs and the DH parameters, written to `dir` (private files 0600; public ones 0644). */
export async function generateOAuthFiles(dir: string, opts: { fastDh?: boolean } = {}): Promise<GeneratedKeys> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pair = () =>
    generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
  const sig = pair();
  const encr = pair();
  const prime = await makeDhPrime(opts.fastDh);
  const files = Object.fromEntries(Object.entries(OAUTH_FILES).map(([k, f]) => [k, join(dir, f)])) as Record<
    keyof typeof OAUTH_FILES,
    string
  >;
  writeOwnerOnly(files.signatureKey, sig.privateKey);
  writeOwnerOnly(files.encryptionKey, encr.privateKey);
  writeFileSync(files.signaturePublic, sig.publicKey, { mode: 0o644 });
  writeFileSync(files.encryptionPublic, encr.publicKey, { mode: 0o644 });
  writeFileSync(files.dhParams, dhParamsPem(prime), { mode: 0o644 });
  return { files };
}
