export * from './command-apdu.js';
export * from './response-apdu.js';
export * from './status-words.js';
export * from './tlv.js';
