/**
 * The trading-safety module: one OrderService per App (journal, tokens, policy), created on
 * first use. `startOrderSafety` is called at start-up to check the confirmation setting and to
 * reconcile the order journal with IB in the background.
 */
import type { Config } from '../config/index.js';
import type { App } from '../runtime.js';
import { confirmationProblem, type SafetyConfig } from './policy.js';
import { OrderService } from './service.js';

export { haltState } from './killswitch.js';
export { OrderService, type TicketView } from './service.js';

export function safetyConfigFrom(config: Config): SafetyConfig {
  return {
    allowLiveTrading: config.allowLiveTrading,
    allowLiveWithoutApproval: config.allowLiveWithoutApproval,
    orderConfirmation: config.orderConfirmation,
    maxOrderNotional: config.maxOrderNotional,
    maxOrderQuantity: config.maxOrderQuantity,
    maxOrdersPerDay: config.maxOrdersPerDay,
    allowedAccounts: config.allowedAccounts.map((a) => a.toUpperCase()),
    allowedSymbols: config.allowedSymbols.map((s) => s.toUpperCase()),
    allowedSecTypes: config.allowedSecTypes.map((s) => s.toUpperCase()),
    autoConfirmMessageIds: config.autoConfirmMessageIds,
  };
}

const services = new WeakMap<App, OrderService>();

export function orderService(app: App): OrderService {
  let s = services.get(app);
  if (!s) {
    s = new OrderService({
      backend: app.backend,
      home: app.config.home,
      safety: safetyConfigFrom(app.config),
      tokenTtlMs: app.config.confirmTokenTtlSeconds * 1000,
      simulated: app.config.backend === 'sim',
      log: app.log.child({ mod: 'orders' }),
    });
    services.set(app, s);
  }
  return s;
}

/**
 * Start-up: refuses an impossible confirmation setting for a known live mode, and reconciles
 * the journal in the background (order tools also wait for it before sending anything).
 */
export function startOrderSafety(app: App): void {
  const problem = confirmationProblem(safetyConfigFrom(app.config), app.mode());
  if (problem) throw new Error(problem);
  if (app.config.readOnly) return;
  const svc = orderService(app);
  // (Opening the live-orders feed, which IB answers empty at first, is the runtime's warm-up after
  // each login: started here as well, it raced the login for /iserver/accounts and asked twice.)
  if (svc.journal.nonFinal().length) void svc.ensureReconciled();
}
