/**
 * Orders part of the backend contract: domain types and the methods tools call.
 * Filled in by the orders capability; a backend implements every method.
 */

// biome-ignore lint/suspicious/noEmptyInterface: filled in by the orders capability
export interface OrdersBackend {}
