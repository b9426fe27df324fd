/** Environment variables a child process must never see. */
const SECRET_ENV = /^(IB_|IBKR_MCP_)|PASSWORD|PASSWD|SECRET|TOKEN|TOTP|CREDENTIAL|API_KEY/i;

/** The environment a child gets: ours, without anything that could hold a secret. */
export function childEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (!SECRET_ENV.test(k)) out[k] = v;
  return out;
}
