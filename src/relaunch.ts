/**
 * The young-generation size the server runs with, however it is started. V8 reads
 * --max-semi-space-size only when the heap is set up, so `v8.setFlagsFromString` at run time has
 * no effect on it (measured: the new space stays at 32 MB); it must be on Node's command line.
 * The bin's shebang passes it when the binary is started by name (npx, a global install, npm
 * link). Started as `node dist/cli.js` without it, the process replaces itself once with the
 * flag through `process.execve` (Node 22.15 / 23.11 and later): same pid, stdio, environment,
 * signals and exit code, no second process. Older Node has no execve: there the server runs
 * without the flag rather than behind a waiting parent process, which would cost more memory
 * (~43 MB) than the flag saves (~20 MB over a 600-call soak).
 */

export const SEMI_SPACE_FLAG = '--max-semi-space-size=1';

/** True when Node already runs with a semi-space size (command line or NODE_OPTIONS). */
export function hasSemiSpaceFlag(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  const given = (a: string) => a.startsWith('--max-semi-space-size');
  return execArgv.some(given) || (nodeOptions ?? '').split(/\s+/).some(given);
}

/** Node's argv for running `script` again with the flag: Node's own options kept, then the script's arguments. */
export function relaunchArgv(execPath: string, execArgv: readonly string[], script: string, args: readonly string[]) {
  return [execPath, SEMI_SPACE_FLAG, ...execArgv, script, ...args];
}

type Execve = (file: string, args: string[], env: NodeJS.ProcessEnv) => never;

/**
 * Replaces this process with itself plus the flag when the flag is missing and Node can
 * execve; returns (and the caller runs the server here) otherwise. Only on a process that
 * has not started anything yet: call it first.
 */
export function relaunchWithSemiSpace(script: string, proc: NodeJS.Process = process): void {
  if (hasSemiSpaceFlag(proc.execArgv, proc.env['NODE_OPTIONS'])) return;
  const execve = (proc as unknown as { execve?: Execve }).execve;
  if (typeof execve !== 'function') return;
  execve.call(proc, proc.execPath, relaunchArgv(proc.execPath, proc.execArgv, script, proc.argv.slice(2)), proc.env);
}
