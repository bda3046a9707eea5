/** X.509 helpers for homegate's PKI: ECDSA P-256 / SHA-256 throughout. */
export * from './keys.js';
export * from './pem.js';
export * from './issue-certificate.js';
export * from './certificate-profiles.js';
