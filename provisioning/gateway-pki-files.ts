/**
 * File names inside the gateway's `pki/` folder (household-pki.ts writes them,
 * the gateway and the terminal issuer read them). A file of its own so that a
 * reader of the names does not load the X.509 issuing code with them:
 * `gateway run` reads the enrollment CA at start but issues certificates only
 * at the first pairing or enrollment (docs/PERFORMANCE.md, memory).
 */
export const GATEWAY_PKI_FILES = {
  householdCa: 'household-ca.pem',
  enrollmentCa: 'enrollment-ca.pem',
  enrollmentKey: 'enrollment-ca.key',
  gatewayCertificate: 'gateway.pem',
  gatewayKey: 'gateway.key',
} as const;
