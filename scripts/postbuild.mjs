// Makes the CLI entry executable after tsc (npm bin links need the mode on some platforms).
import { chmodSync, existsSync } from 'node:fs';

if (existsSync('dist/cli.js')) chmodSync('dist/cli.js', 0o755);
