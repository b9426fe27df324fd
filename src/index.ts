/**
 * The package's entry for code that embeds ibkr-mcp (package.json `main`); the `ibkr-mcp`
 * binary is src/cli.ts. Importing this starts nothing.
 */
export { type Config, loadConfig, OPTIONS, VERSION } from './config/index.js';
export { createLogger } from './log.js';
export { createMcpServer } from './mcp/server.js';
export { type App, createApp } from './runtime.js';
export { startOrderSafety } from './safety/index.js';
export { type SimulatorHandle, startSimulator } from './simulator/index.js';
