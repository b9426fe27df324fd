/**
 * How the user who started this process runs one of its commands: `npx ibkr-mcp doctor` when
 * npx started it (the binary is then not on their PATH), `node /path/dist/cli.js doctor` from a
 * clone, `ibkr-mcp doctor` when installed. Messages that tell a user what to run use this.
 */
import { sep } from 'node:path';

export function commandFor(
  sub: string,
  env: NodeJS.ProcessEnv = process.env,
  script: string | undefined = process.argv[1],
): string {
  const path = script ?? '';
  const viaNpx = env['npm_command'] === 'exec' || path.includes(`${sep}_npx${sep}`);
  if (viaNpx) return `npx ibkr-mcp ${sub}`;
  const inNodeModules = path.includes(`${sep}node_modules${sep}`);
  if (!inNodeModules && /[\\/]dist[\\/]cli\.js$/.test(path)) return `node ${path} ${sub}`;
  return `ibkr-mcp ${sub}`;
}
