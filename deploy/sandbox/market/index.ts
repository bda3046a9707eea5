/** The sandbox electronic market (a reference market for the demo and the tests). */
export * from './server.js';
export * from './options.js';
export * from './routes.js';
export * from './catalogue.js';
export * from './order-book.js';
export * from './payment-routes.js';
