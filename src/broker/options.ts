/**
 * Options part of the backend contract: domain types and the methods tools call.
 * Filled in by the options capability; a backend implements every method.
 */

// biome-ignore lint/suspicious/noEmptyInterface: filled in by the options capability
export interface OptionsBackend {}
