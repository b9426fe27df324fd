/**
 * `ibkr-mcp setup [--install-java] [--refresh]`: gets everything the real gateway needs ready
 * ahead of time (Java, IB's gateway in the cache), with progress for every download.
 */

import { commandFor } from '../config/command.js';
import { ConfigError, ensureHome, loadConfig } from '../config/index.js';
import { progressPrinter } from './download.js';
import { findJava, installJava, javaInstallAdvice } from './java.js';
import { cacheDir, provisionGateway } from './provision.js';

export const SETUP_HELP = `ibkr-mcp setup [--install-java] [--refresh] [options]
  Prepares the real IB gateway: checks Java (8u192 or newer; --install-java downloads a
  Temurin JRE from Adoptium, SHA-256 verified), and downloads IB's Client Portal gateway into
  the cache (or checks --gateway-dir). --refresh downloads the gateway again.
  Options as for serve: --home, --gateway-dir, --gateway-download-base, --gateway-sha256,
  --java-download-base.
`;

export async function runSetup(
  argv: string[],
  out: (s: string) => void = (s) => process.stdout.write(s),
): Promise<number> {
  const installJavaFlag = argv.includes('--install-java');
  const refresh = argv.includes('--refresh');
  const rest = argv.filter((a) => a !== '--install-java' && a !== '--refresh');
  const loaded = loadConfig(rest);
  if (loaded.help) {
    out(SETUP_HELP);
    return 0;
  }
  if (loaded.positionals.length) throw new ConfigError(`Unexpected argument "${loaded.positionals[0]}".`);
  const { config } = loaded;
  ensureHome(config.home);
  const cache = cacheDir(config.home);
  const err = (s: string) => process.stderr.write(s);
  let ok = true;

  let java = (await findJava({ cacheDir: cache })).java;
  if (java) {
    out(`✓ Java ${java.version} (${java.source}: ${java.path})\n`);
  } else if (installJavaFlag) {
    out('Java not found; installing a Temurin JRE from Adoptium.\n');
    try {
      java = await installJava({
        base: config.javaDownloadBase,
        cacheDir: cache,
        progress: progressPrinter('Java download', err),
        log: (l) => out(`  ${l}\n`),
      });
      out(`✓ Java ${java.version} installed at ${java.path}\n`);
    } catch (e) {
      ok = false;
      out(`✗ Java install failed: ${(e as Error).message}\n`);
    }
  } else {
    ok = false;
    out(`✗ Java: ${javaInstallAdvice()}\n`);
  }

  if (config.gatewayUrlExplicit && !config.gatewayDir) {
    out(`• Gateway: you run it yourself at ${config.gatewayUrl}; nothing to download.\n`);
  } else {
    try {
      const r = await provisionGateway({
        gatewayDir: config.gatewayDir,
        home: config.home,
        downloadBase: config.gatewayDownloadBase,
        sha256: config.gatewaySha256,
        refresh,
        progress: progressPrinter('Gateway download', err),
        log: (l) => out(`  ${l}\n`),
      });
      out(
        `✓ Gateway ${r.source === 'gateway-dir' ? 'folder' : r.source === 'cache' ? 'in the cache' : 'downloaded'}: ${r.layout.dir}${r.sha256 ? ` (archive SHA-256 ${r.sha256})` : ''}\n`,
      );
    } catch (e) {
      ok = false;
      out(`✗ Gateway: ${(e as Error).message}\n`);
    }
  }
  out(
    ok
      ? `Ready. \`${commandFor('doctor')}\` checks the rest.\n`
      : 'Not ready: fix the lines marked ✗ and run setup again.\n',
  );
  return ok ? 0 : 1;
}
