/** The sandbox e-money issuer (PAYMENTS.md, "Issuer"): household accounts and load authorizations. */
export * from './server.js';
export * from './options.js';
export * from './accounts.js';
export * from './routes.js';
