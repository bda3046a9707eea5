/**
 * Every home-card command, by name, in one plain map (as Zigbee2MQTT's
 * `requestLookup`): no decorators, no reflection. The driver (home-card.ts)
 * sends every command through this map, `run(homeCardCommands.pay, request)`,
 * so build, parse and the logged name cannot drift apart. A new command is
 * one new file in this folder plus one entry here.
 */
import { ACTIVATE, buildActivate, parseActivate } from './activate.js';
import { CHANGE_REFERENCE_DATA, buildChangeReferenceData, parseChangeReferenceData } from './change-reference-data.js';
import { COMPUTE_SIGNATURE, buildComputeSignature, parseComputeSignature } from './compute-signature.js';
import { EXTERNAL_AUTHENTICATE, buildExternalAuthenticate, parseExternalAuthenticate } from './external-authenticate.js';
import { FACTORY_RESET, buildFactoryReset, parseFactoryReset } from './factory-reset.js';
import { GENERATE_KEY_PAIR, buildGenerateKeyPair, parseGenerateKeyPair } from './generate-key-pair.js';
import { GET_CHALLENGE, buildGetChallenge, parseGetChallenge } from './get-challenge.js';
import { cardCommand } from './card-command.js';
import { DataTag } from './data-objects.js';
import {
  GET_DATA,
  buildGetData,
  parseCardId,
  parseCertificate,
  parseLifeCycle,
  parsePublicKey,
  parseRetryCounters,
  parseTrustAnchors,
  parseVersion,
} from './get-data.js';
import { CANCEL, buildCancel, parseCancel } from './cancel.js';
import { SIGN_CANCEL_REQUEST, buildSignCancelRequest, parseSignCancelRequest } from './sign-cancel-request.js';
import { GET_LOAD_CHALLENGE, buildGetLoadChallenge, parseGetLoadChallenge } from './load-challenge.js';
import { LOAD, buildLoad, parseLoad } from './load.js';
import { PAY, buildPay, parsePay } from './pay.js';
import { buildPinStatusQuery, parsePinStatusQuery } from './pin-status.js';
import { buildPutInitialBalance, buildPutIssuerKey, buildPutPurseParameters } from './purse-personalization.js';
import { buildLastLoadReceipt, buildPurseLog, buildPurseStatus, parseLastLoadReceipt, parsePurseLog, parsePurseStatus } from './purse-status.js';
import { READ_RECORD, buildReadRecord, parseReadRecord } from './read-record.js';
import { PUT_DATA, buildAddTrustAnchor, buildPutCertificate, buildPutPin, buildRemoveTrustAnchor, parsePutData } from './put-data.js';
import { buildResetPinState, parseResetPinState } from './reset-pin-state.js';
import { RESET_RETRY_COUNTER, buildResetRetryCounter, parseResetRetryCounter } from './reset-retry-counter.js';
import { SELECT, buildSelect, parseSelect } from './select.js';
import { SIGN_SESSION_CERTIFICATE, buildSignSessionCertificate, parseSignSessionCertificate } from './sign-session-certificate.js';
import { VERIFY_CERTIFICATE, buildVerifyCertificate, parseVerifyCertificate } from './verify-certificate.js';
import { VERIFY, buildVerifyPin, parseVerifyPin } from './verify-pin.js';

export const homeCardCommands = {
  select: cardCommand(SELECT, buildSelect, parseSelect),
  getChallenge: cardCommand(GET_CHALLENGE, buildGetChallenge, parseGetChallenge),
  externalAuthenticate: cardCommand(EXTERNAL_AUTHENTICATE, buildExternalAuthenticate, parseExternalAuthenticate),
  verifyPin: cardCommand(VERIFY, buildVerifyPin, (r, [which]) => parseVerifyPin(r, which)),
  pinStatus: cardCommand(VERIFY, buildPinStatusQuery, (r, [which]) => parsePinStatusQuery(r, which)),
  resetPinState: cardCommand(VERIFY, buildResetPinState, (r, [which]) => parseResetPinState(r, which)),
  changeReferenceData: cardCommand(CHANGE_REFERENCE_DATA, buildChangeReferenceData, (r, [which]) => parseChangeReferenceData(r, which)),
  resetRetryCounter: cardCommand(RESET_RETRY_COUNTER, buildResetRetryCounter, parseResetRetryCounter),
  // GET DATA, one entry per data object: each has its own parser (data-objects.ts).
  cardId: cardCommand(GET_DATA, () => buildGetData(DataTag.CardId), parseCardId),
  version: cardCommand(GET_DATA, () => buildGetData(DataTag.Version), parseVersion),
  lifeCycle: cardCommand(GET_DATA, () => buildGetData(DataTag.LifeCycle), parseLifeCycle),
  retryCounters: cardCommand(GET_DATA, () => buildGetData(DataTag.RetryCounters), parseRetryCounters),
  publicKey: cardCommand(GET_DATA, () => buildGetData(DataTag.PublicKey), parsePublicKey),
  certificate: cardCommand(GET_DATA, () => buildGetData(DataTag.Certificate), parseCertificate),
  trustAnchors: cardCommand(GET_DATA, () => buildGetData(DataTag.TrustAnchors), parseTrustAnchors),
  generateKeyPair: cardCommand(GENERATE_KEY_PAIR, buildGenerateKeyPair, parseGenerateKeyPair),
  putCertificate: cardCommand(PUT_DATA, buildPutCertificate, parsePutData),
  putPin: cardCommand(PUT_DATA, buildPutPin, parsePutData),
  addTrustAnchor: cardCommand(PUT_DATA, buildAddTrustAnchor, parsePutData),
  removeTrustAnchor: cardCommand(PUT_DATA, buildRemoveTrustAnchor, parsePutData),
  activate: cardCommand(ACTIVATE, buildActivate, parseActivate),
  verifyCertificate: cardCommand(VERIFY_CERTIFICATE, buildVerifyCertificate, parseVerifyCertificate),
  computeSignature: cardCommand(COMPUTE_SIGNATURE, buildComputeSignature, parseComputeSignature),
  signSessionCertificate: cardCommand(SIGN_SESSION_CERTIFICATE, buildSignSessionCertificate, parseSignSessionCertificate),
  factoryReset: cardCommand(FACTORY_RESET, buildFactoryReset, parseFactoryReset),
  putIssuerKey: cardCommand(PUT_DATA, buildPutIssuerKey, parsePutData),
  putPurseParameters: cardCommand(PUT_DATA, buildPutPurseParameters, parsePutData),
  putInitialBalance: cardCommand(PUT_DATA, buildPutInitialBalance, parsePutData),
  purseStatus: cardCommand(GET_DATA, buildPurseStatus, parsePurseStatus),
  purseLog: cardCommand(GET_DATA, buildPurseLog, parsePurseLog),
  lastLoadReceipt: cardCommand(GET_DATA, buildLastLoadReceipt, parseLastLoadReceipt),
  pay: cardCommand(PAY, buildPay, parsePay),
  cancel: cardCommand(CANCEL, buildCancel, parseCancel),
  signCancelRequest: cardCommand(SIGN_CANCEL_REQUEST, buildSignCancelRequest, parseSignCancelRequest),
  getLoadChallenge: cardCommand(GET_LOAD_CHALLENGE, buildGetLoadChallenge, parseGetLoadChallenge),
  load: cardCommand(LOAD, buildLoad, parseLoad),
  readRecord: cardCommand(READ_RECORD, buildReadRecord, parseReadRecord),
} as const;

export type HomeCardCommand = keyof typeof homeCardCommands;

export * from './activate.js';
export * from './card-command.js';
export * from './cancel.js';
export * from './sign-cancel-request.js';
export * from './change-reference-data.js';
export * from './compute-signature.js';
export * from './data-objects.js';
export * from './external-authenticate.js';
export * from './factory-reset.js';
export * from './generate-key-pair.js';
export * from './get-challenge.js';
export * from './get-data.js';
export * from './load-challenge.js';
export * from './load.js';
export * from './pay.js';
export * from './pin-status.js';
export * from './purse-personalization.js';
export * from './purse-status.js';
export * from './put-data.js';
export * from './read-record.js';
export * from './reset-pin-state.js';
export * from './reset-retry-counter.js';
export * from './select.js';
export * from './sign-session-certificate.js';
export * from './verify-certificate.js';
export * from './verify-pin.js';
