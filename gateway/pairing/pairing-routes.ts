/**
 * The terminal API's pairing routes, both public (the terminal has no
 * certificate yet; API.md, pairing):
 *
 *   GET  /v1/pairing/ca  the household root (PEM); the terminal checks its
 *                        fingerprint against the code before trusting it
 *   POST /v1/pairing     { code, proof, csr } → certificate, chain, root,
 *                        card certificate, broker login
 */
import { derToPem } from '../../provisioning/pki/pem.js';
import type { RouteTable } from '../terminal-api/routes.js';
import type { PairingService } from './pairing-service.js';

export function pairingRoutes(pairing: PairingService, root: () => Promise<Buffer>): RouteTable {
  return {
    'GET /v1/pairing/ca': { access: 'public', handle: async () => ({ householdCaPem: derToPem(await root()) }) },
    'POST /v1/pairing': { access: 'public', handle: async ({ body }) => pairing.pair(body) },
  };
}
