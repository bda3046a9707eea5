/** The proxy engine: delegated market authentication with the home card (claims 1, 2). */
export * from './proxy-error.js';
export * from './proxy-options.js';
export * from './market-chain.js';
export * from './session-certificate.js';
export * from './ssl-session.js';
export * from './ticketed-connection.js';
export * from './delegated-handshake.js';
export * from './market-target.js';
export * from './client-context.js';
