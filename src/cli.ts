#!/usr/bin/env -S node --max-semi-space-size=1
/**
 * The `ibkr-mcp` binary (commands in main.ts). stdout belongs to the MCP protocol in serve mode;
 * everything human goes to stderr.
 *
 * Memory (target: under 100 MB resident; npm run bench measures it). V8 gets a 1 MB young
 * generation instead of 16 MB: this I/O-bound server allocates little per request. The shebang
 * passes it when the binary is started by name; started as `node dist/cli.js`, the process
 * re-executes itself once with it (src/relaunch.ts). The flags below are set here rather than in
 * the shebang so that they hold however the process is started:
 * - no optimising JavaScript compilers (TurboFan, Maglev): the server waits on IB, at ten requests
 *   a second, far more than it computes; the interpreter and the Sparkplug baseline compiler keep
 *   every bench figure where it was, and resident memory ~15 MB lower and steadier.
 * - WebAssembly on V8's baseline compiler: undici parses HTTP with a WebAssembly build of llhttp,
 *   and optimising it cost a transient ~25 MB of native memory at start.
 */
import './node-check.js';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { relaunchWithSemiSpace } from './relaunch.js';

relaunchWithSemiSpace(fileURLToPath(import.meta.url));
for (const flag of ['--no-turbofan', '--no-maglev', '--liftoff-only']) setFlagsFromString(flag);
const { run } = await import('./main.js');
process.exitCode = await run(process.argv.slice(2));
