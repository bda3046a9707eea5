/**
 * The home-card driver's public API. Code above card-io uses HomeCard and
 * these types; the command builders and parsers are exported for tests, the
 * emulator's conformance checks and tools that need one command alone.
 */
export {
  HomeCard,
  type CardInfo,
  type HomeCardOptions,
  type NewPins,
  type PinStatus,
  type PurseSetup,
} from './home-card.js';
export {
  parseDecisionRecord,
  parseSignedRecord,
  verifySignedRecord,
  type DecisionRecord,
  type RecordStatus,
  type SignedRecord,
} from './decision-record.js';
export { parseLoadReceipt, verifyLoadReceipt, type LoadReceipt } from './load-receipt.js';
export {
  encodeCancelAuthorization,
  encodeLoadAuthorization,
  parseCancelAuthorization,
  parseLoadAuthorization,
  signAuthorization,
  type CancelAuthorization,
  type LoadAuthorization,
} from './purse-authorizations.js';
export { toMinorUnits, type MinorUnits } from './purse-encoding.js';
export {
  CommandQueue,
  DEFAULT_COMMAND_TIMEOUT_MS,
  MAX_COMMAND_TIMEOUT_MS,
  type CommandQueueOptions,
} from './command-queue.js';
export {
  CERTIFICATE_REJECTION_REASONS,
  checkStatus,
  statusError,
  type CertificateRejectionReason,
  type Credential,
  type StatusContext,
} from './status-error.js';
export {
  PIN_BLOCK_LENGTH,
  PIN_REFERENCE,
  encodePinBlock,
  validatePin,
  type PinBlockKind,
  type PinId,
} from './pin-block.js';
export { ADMIN_KEY_LENGTH, cardCryptogramMatches, expectedCardCryptogram, hostCryptogram } from './admin-auth.js';
export * from './commands/index.js';
