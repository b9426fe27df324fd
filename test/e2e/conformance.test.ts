/**
 * The official MCP conformance suite's generic server scenarios against the built HTTP server.
 *
 * The suite has no option for an Authorization header, so it talks to the server through a
 * small pass-through proxy that adds the bearer token and changes nothing else (Host and
 * Origin reach the server as the suite sent them, so the DNS-rebinding scenario still tests
 * the server's own checks). The fixture-based scenarios (test_simple_text, test://static-text,
 * …) need the SDK's "everything" server and do not apply to ibkr-mcp.
 *
 * Node 20 lacks fs.globSync, which the suite's bundle imports by name; a patched copy is
 * generated next to the original at test time (mcp-notes §3.2). Node ≥ 22 runs the original.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { type HttpHarness, startHttpServer } from './http-harness.js';

const PKG = resolve(import.meta.dirname, '../../node_modules/@modelcontextprotocol/conformance/dist');
const SCENARIOS = [
  'server-initialize',
  'ping',
  'tools-list',
  'resources-list',
  'prompts-list',
  'dns-rebinding-protection',
];

function conformanceEntry(): string {
  const original = join(PKG, 'index.js');
  if ('globSync' in fs) return original;
  const patched = join(PKG, 'index-node20.js');
  const from = 'import{existsSync as a,globSync as o,mkdtempSync as s,promises as c,readFileSync as l}from"fs";';
  const to =
    'import{existsSync as a,mkdtempSync as s,promises as c,readFileSync as l}from"fs";import * as __fs from"fs";' +
    'const o=(...x)=>{if(!__fs.globSync)throw new Error("fs.globSync needs Node>=22");return __fs.globSync(...x)};';
  const src = readFileSync(original, 'utf8');
  assert.ok(
    src.includes(from),
    'the conformance bundle has the expected fs import (update the patch for this version)',
  );
  writeFileSync(patched, src.replace(from, to));
  return patched;
}

/**
 * Forwards every request unchanged except for the Authorization header. It listens before the
 * server starts (`to` is set once it runs) so that the server can be told the proxy's origin,
 * as for any reverse proxy in front of it (--allowed-origins): the Origin check is exact.
 */
function authProxy(to: { target?: URL; token?: string }): Promise<Server> {
  const server = createServer((req, res) => {
    const target = to.target!;
    const headers = { ...req.headers, authorization: `Bearer ${to.token}` };
    const up = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(server)));
}

let h: HttpHarness;
let proxy: Server;
let out: string;

before(async () => {
  const to: { target?: URL; token?: string } = {};
  proxy = await authProxy(to);
  const proxyPort = (proxy.address() as AddressInfo).port;
  h = await startHttpServer({ sim: false, args: ['--allowed-origins', `http://localhost:${proxyPort}`] });
  to.target = new URL(h.url);
  to.token = h.token;
  out = mkdtempSync(join(tmpdir(), 'ibkr-conformance-'));
});
after(async () => {
  proxy?.close();
  await h?.close();
  if (out) rmSync(out, { recursive: true, force: true });
});

for (const scenario of SCENARIOS) {
  test(`conformance: ${scenario}`, async () => {
    const entry = conformanceEntry();
    const url = `http://localhost:${(proxy.address() as AddressInfo).port}/mcp`;
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
      execFile(
        process.execPath,
        [entry, 'server', '--url', url, '--scenario', scenario, '-o', out],
        { timeout: 60_000 },
        (err, stdout, stderr) => done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    const text = `${stdout}\n${stderr}`;
    assert.equal(code, 0, `conformance ${scenario} failed:\n${text}`);
    assert.match(text, /Passed:\s*[1-9]\d*\/\d+, 0 failed/, text);
  });
}
