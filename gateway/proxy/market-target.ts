/**
 * A registered market as the proxy and the e-money manager reach it. One
 * place decides the SNI name: it cannot be an IP address (RFC 6066 §3), and
 * a market registered by address is the sandbox's, which answers to "localhost".
 */
import { isIP } from 'node:net';
// pem.js alone: the pki index would load the X.509 issuing library into every gateway.
import { pemToDerAll } from '../../provisioning/pki/pem.js';
import type { MarketTarget } from './proxy-options.js';

export function marketServername(host: string): string {
  return isIP(host) ? 'localhost' : host;
}

export function marketTarget(m: { name: string; host: string; port: number; anchorPem: string }): MarketTarget {
  return { name: m.name, host: m.host, port: m.port, servername: marketServername(m.host), anchorsDer: pemToDerAll(m.anchorPem) };
}
