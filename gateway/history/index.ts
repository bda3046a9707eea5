/** The gateway's history: every decision, cancel and load, archived in month partitions. */
export * from './history-error.js';
export * from './history-entry.js';
export * from './history-store.js';
export * from './reconcile.js';
