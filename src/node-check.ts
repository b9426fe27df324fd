/**
 * Imported first by the binary: an unsupported Node stops here with a plain message, before any
 * dependency loads (undici, the MCP SDK) and fails with a stack trace instead.
 */
const MIN = [20, 18, 1] as const;

export function nodeTooOld(version: string): boolean {
  const [a = 0, b = 0, c = 0] = version.replace(/^v/, '').split('.').map(Number);
  for (const [have, need] of [
    [a, MIN[0]],
    [b, MIN[1]],
    [c, MIN[2]],
  ] as const) {
    if (have !== need) return have < need;
  }
  return false;
}

if (nodeTooOld(process.versions.node)) {
  process.stderr.write(
    `ibkr-mcp needs Node.js ${MIN.join('.')} or newer; this is Node.js ${process.versions.node}. Install a current Node.js (https://nodejs.org) and start it again.\n`,
  );
  process.exit(1);
}
