/** Is a host name this machine? One answer for the HTTP transport, the gateway and the CPAPI client. */

const LOOPBACK_V4 = /^127(?:\.\d{1,3}){3}$/;

/**
 * True for localhost, ::1 (bracketed or not) and 127.0.0.0/8. With `localhostSubdomains`, also
 * for names under .localhost (RFC 6761), for a client connecting through the resolver; never
 * for an address to listen on.
 */
export function isLoopbackHost(host: string, opts: { localhostSubdomains?: boolean } = {}): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (opts.localhostSubdomains && h.endsWith('.localhost')) return true;
  return h === 'localhost' || h === '::1' || LOOPBACK_V4.test(h);
}
