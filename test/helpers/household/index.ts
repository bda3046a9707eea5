/**
 * The one entry point for test households and cards: whole households on
 * real processes and sockets (household.ts, purse-household.ts), the card
 * stack in memory or over a pty (card-fixture.ts), and the emulator process
 * (emulator-process.ts). Imports ava; runners outside ava (test/chaos/run.ts)
 * import emulator-process.ts directly.
 */
export * from './card-fixture.js';
export * from './emulator-process.js';
export * from './household.js';
export * from './purse-household.js';
