#!/usr/bin/env -S node --max-semi-space-size=1
/**
 * The `ibkr-mcp` binary (commands in main.ts). stdout belongs to the MCP protocol in serve mode;
 * everything human goes to stderr.
 *
 * Memory (target: under 100 MB resident). The shebang gives V8 a 1 MB young generation instead of
 * 16 MB: this I/O-bound server allocates little per request. WebAssembly stays on V8's baseline
 * compiler: undici parses HTTP with a WebAssembly build of llhttp, and optimising it costs a
 * transient ~25 MB of native memory for no gain at IB's ten requests a second. Set here rather than
 * in the shebang so that it holds however the process is started, before undici is first loaded.
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--liftoff-only');
const { run } = await import('./main.js');
process.exitCode = await run(process.argv.slice(2));
