/**
 * `pairing` in gateway.json: how terminals find the gateway to pair
 * (docs/PROVISIONING.md). Pairing itself is always on; a code is needed.
 */
import { z } from 'zod';

export const pairingOptionsSchema = z
  .object({
    advertise: z
      .boolean()
      .default(false)
      .describe('Announce the gateway by mDNS (`_homegate._tcp`) so `homegate terminal pair` finds it without a URL. Default false.'),
    instance: z.string().min(1).max(63).optional().describe('The DNS-SD instance name, 1..63 characters. Default: the host name.'),
    mdnsPort: z.number().int().min(1).max(65535).default(5353).describe('UDP port of mDNS, 1..65535. Default 5353 (RFC 6762 §3); only tests change it.'),
  })
  .strict();

export const DEFAULT_PAIRING_OPTIONS = { advertise: false, mdnsPort: 5353 } as const;
