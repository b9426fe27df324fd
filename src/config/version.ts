/**
 * The version of ibkr-mcp: package.json's, read at start, so that there is one place to change
 * it. server.json (the MCP registry entry) is filled from it by `npm run docs`;
 * test/unit/version.test.ts checks both.
 */
import { readFileSync } from 'node:fs';

/** package.json sits two folders up from this file both in src/config and in dist/config. */
const PACKAGE_JSON = new URL('../../package.json', import.meta.url);

export const VERSION: string = (JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version: string }).version;
