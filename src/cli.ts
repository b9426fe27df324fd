#!/usr/bin/env node
/**
 * The `ibkr-mcp` binary (commands in main.ts). stdout belongs to the MCP protocol in serve mode;
 * everything human goes to stderr.
 *
 * Memory (target: under 100 MB resident; npm run bench measures it). V8 flags set here, at run
 * time, so that they hold however the process is started (`node dist/cli.js`, npx, the bin):
 * - a young generation that stays at its first size (1 MB semi-spaces) instead of growing to
 *   16 MB ones: this I/O-bound server allocates little per request, and the grown new space was
 *   ~30 MB of resident memory. V8 reads --max-semi-space-size only when the heap is set up, but
 *   it reads the growth factor each time it would grow, so factor 1 is the same limit set late.
 * - no optimising JavaScript compilers (TurboFan, Maglev): the server waits on IB, at ten requests
 *   a second, far more than it computes; the interpreter and the Sparkplug baseline compiler keep
 *   every bench figure where it was, and resident memory ~15 MB lower and steadier.
 * - WebAssembly on V8's baseline compiler: undici parses HTTP with a WebAssembly build of llhttp,
 *   and optimising it cost a transient ~25 MB of native memory at start.
 */
import './node-check.js';
import { tuneV8 } from './v8-flags.js';

tuneV8();
const { run } = await import('./main.js');
process.exitCode = await run(process.argv.slice(2));
