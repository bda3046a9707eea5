/** The gateway registry: terminals, markets and settings in one durable lowdb file. */
export * from './registry-error.js';
export * from './fsync-json-file.js';
export * from './registry-schema.js';
export * from './registry.js';
