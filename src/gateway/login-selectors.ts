/**
 * Where the headless login finds things on IB's login page: defaults, and the user's overrides
 * (--login-selectors JSON). Apart from the login itself so that reading them loads no browser code.
 */

/** CSS selectors of IB's login page (its "xyz" login widget), overridable with --login-selectors. */
export interface LoginSelectors {
  username: string;
  password: string;
  paperToggle: string;
  submit: string;
  totpInput: string;
  totpSubmit: string;
  error: string;
  success: string;
  push: string;
}

export const DEFAULT_SELECTORS: LoginSelectors = {
  username: 'input#xyz-field-username, input[name="username"]',
  password: 'input#xyz-field-password, input[name="password"]',
  paperToggle: 'input#toggle1, input[name="paperSwitch"]',
  submit: 'button.xyz-button-login, button[type="submit"], input[type="submit"]',
  totpInput:
    'input#xyz-field-silver-response, input[name="silver-response"], input#xyz-field-temp-response, input#chg_response, input[name="chg_response"]',
  totpSubmit: 'button.xyz-button-login, button[type="submit"], input[type="submit"]',
  error: '.xyz-errormessage, .alert-danger, [role="alert"]',
  success: 'text=Client login succeeds',
  push: '.xyz-push-notification, .xyz-notification-prompt',
};

export function mergeSelectors(json: string | undefined): LoginSelectors {
  if (!json) return { ...DEFAULT_SELECTORS };
  const v = JSON.parse(json) as Record<string, unknown>;
  const out = { ...DEFAULT_SELECTORS };
  for (const k of Object.keys(DEFAULT_SELECTORS) as (keyof LoginSelectors)[]) {
    if (typeof v[k] === 'string' && v[k]) out[k] = v[k] as string;
  }
  return out;
}
