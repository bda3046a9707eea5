/**
 * Every home-card command, by name, in one plain map (as Zigbee2MQTT's
 * `requestLookup`): no decorators, no reflection. A new command is one new
 * file in this folder plus one entry here. `name` is what logs and errors say.
 */
import { ACTIVATE, buildActivate, parseActivate } from './activate.js';
import {
  CHANGE_REFERENCE_DATA,
  buildChangeReferenceData,
  parseChangeReferenceData,
} from './change-reference-data.js';
import { COMPUTE_SIGNATURE, buildComputeSignature, parseComputeSignature } from './compute-signature.js';
import {
  EXTERNAL_AUTHENTICATE,
  buildExternalAuthenticate,
  parseExternalAuthenticate,
} from './external-authenticate.js';
import { FACTORY_RESET, buildFactoryReset, parseFactoryReset } from './factory-reset.js';
import { GENERATE_KEY_PAIR, buildGenerateKeyPair, parseGenerateKeyPair } from './generate-key-pair.js';
import { GET_CHALLENGE, buildGetChallenge, parseGetChallenge } from './get-challenge.js';
import { GET_DATA, buildGetData, parseGetData } from './get-data.js';
import { CANCEL, buildCancel, parseCancel } from './cancel.js';
import { SIGN_CANCEL_REQUEST, buildSignCancelRequest, parseSignCancelRequest } from './sign-cancel-request.js';
import { GET_LOAD_CHALLENGE, buildGetLoadChallenge, parseGetLoadChallenge } from './load-challenge.js';
import { LOAD, buildLoad, parseLoad } from './load.js';
import { PAY, buildPay, parsePay } from './pay.js';
import { buildPinStatusQuery, parsePinStatusQuery } from './pin-status.js';
import { buildPutInitialBalance, buildPutIssuerKey, buildPutPurseParameters } from './purse-personalization.js';
import { buildLastLoadReceipt, buildPurseLog, buildPurseStatus, parseLastLoadReceipt, parsePurseLog, parsePurseStatus } from './purse-status.js';
import { READ_RECORD, buildReadRecord, parseReadRecord } from './read-record.js';
import {
  PUT_DATA,
  buildAddTrustAnchor,
  buildPutCertificate,
  buildPutPin,
  buildRemoveTrustAnchor,
  parsePutData,
} from './put-data.js';
import { buildResetPinState, parseResetPinState } from './reset-pin-state.js';
import { RESET_RETRY_COUNTER, buildResetRetryCounter, parseResetRetryCounter } from './reset-retry-counter.js';
import { SELECT, buildSelect, parseSelect } from './select.js';
import {
  SIGN_SESSION_CERTIFICATE,
  buildSignSessionCertificate,
  parseSignSessionCertificate,
} from './sign-session-certificate.js';
import { VERIFY_CERTIFICATE, buildVerifyCertificate, parseVerifyCertificate } from './verify-certificate.js';
import { VERIFY, buildVerifyPin, parseVerifyPin } from './verify-pin.js';

export const homeCardCommands = {
  select: { name: SELECT, build: buildSelect, parse: parseSelect },
  getChallenge: { name: GET_CHALLENGE, build: buildGetChallenge, parse: parseGetChallenge },
  externalAuthenticate: {
    name: EXTERNAL_AUTHENTICATE,
    build: buildExternalAuthenticate,
    parse: parseExternalAuthenticate,
  },
  verifyPin: { name: VERIFY, build: buildVerifyPin, parse: parseVerifyPin },
  pinStatus: { name: VERIFY, build: buildPinStatusQuery, parse: parsePinStatusQuery },
  resetPinState: { name: VERIFY, build: buildResetPinState, parse: parseResetPinState },
  changeReferenceData: {
    name: CHANGE_REFERENCE_DATA,
    build: buildChangeReferenceData,
    parse: parseChangeReferenceData,
  },
  resetRetryCounter: { name: RESET_RETRY_COUNTER, build: buildResetRetryCounter, parse: parseResetRetryCounter },
  getData: { name: GET_DATA, build: buildGetData, parse: parseGetData },
  generateKeyPair: { name: GENERATE_KEY_PAIR, build: buildGenerateKeyPair, parse: parseGenerateKeyPair },
  putCertificate: { name: PUT_DATA, build: buildPutCertificate, parse: parsePutData },
  putPin: { name: PUT_DATA, build: buildPutPin, parse: parsePutData },
  addTrustAnchor: { name: PUT_DATA, build: buildAddTrustAnchor, parse: parsePutData },
  removeTrustAnchor: { name: PUT_DATA, build: buildRemoveTrustAnchor, parse: parsePutData },
  activate: { name: ACTIVATE, build: buildActivate, parse: parseActivate },
  verifyCertificate: { name: VERIFY_CERTIFICATE, build: buildVerifyCertificate, parse: parseVerifyCertificate },
  computeSignature: { name: COMPUTE_SIGNATURE, build: buildComputeSignature, parse: parseComputeSignature },
  signSessionCertificate: {
    name: SIGN_SESSION_CERTIFICATE,
    build: buildSignSessionCertificate,
    parse: parseSignSessionCertificate,
  },
  factoryReset: { name: FACTORY_RESET, build: buildFactoryReset, parse: parseFactoryReset },
  putIssuerKey: { name: PUT_DATA, build: buildPutIssuerKey, parse: parsePutData },
  putPurseParameters: { name: PUT_DATA, build: buildPutPurseParameters, parse: parsePutData },
  putInitialBalance: { name: PUT_DATA, build: buildPutInitialBalance, parse: parsePutData },
  purseStatus: { name: GET_DATA, build: buildPurseStatus, parse: parsePurseStatus },
  purseLog: { name: GET_DATA, build: buildPurseLog, parse: parsePurseLog },
  lastLoadReceipt: { name: GET_DATA, build: buildLastLoadReceipt, parse: parseLastLoadReceipt },
  pay: { name: PAY, build: buildPay, parse: parsePay },
  cancel: { name: CANCEL, build: buildCancel, parse: parseCancel },
  signCancelRequest: { name: SIGN_CANCEL_REQUEST, build: buildSignCancelRequest, parse: parseSignCancelRequest },
  getLoadChallenge: { name: GET_LOAD_CHALLENGE, build: buildGetLoadChallenge, parse: parseGetLoadChallenge },
  load: { name: LOAD, build: buildLoad, parse: parseLoad },
  readRecord: { name: READ_RECORD, build: buildReadRecord, parse: parseReadRecord },
} as const;

export type HomeCardCommand = keyof typeof homeCardCommands;

export * from './activate.js';
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
