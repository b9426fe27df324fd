/** Registers every /v1/api route module. Each module exports `register(router, state)`. */
import type { Router } from '../server.js';
import type { SimState } from '../state.js';
import * as contracts from './contracts.js';
import * as gateway from './gateway.js';
import * as history from './history.js';
import * as loginPage from './login.js';
import * as marketdata from './marketdata.js';
import * as news from './news.js';
import * as options from './options.js';
import * as orders from './orders.js';
import * as portfolio from './portfolio.js';
import * as research from './research.js';
import * as session from './session.js';

export type RouteModule = { register(router: Router, state: SimState): void };

export const ROUTE_MODULES: RouteModule[] = [
  session,
  contracts,
  marketdata,
  history,
  options,
  orders,
  portfolio,
  gateway,
  research,
  news,
  loginPage,
];

export function registerAll(router: Router, state: SimState, extra: RouteModule[] = []): void {
  for (const m of [...ROUTE_MODULES, ...extra]) m.register(router, state);
}
