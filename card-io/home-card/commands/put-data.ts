/**
 * PUT DATA (ISO/IEC 7816-4, P1-P2 = a two-byte tag): 00 DA P1 P2 = tag, Lc value. Needs admin
 * authentication (6982). Values over 255 bytes (certificates) go as extended
 * Lc (§5.1 case 3E), chosen by encodeCommandApdu.
 *
 * Tags (PROTOCOL.md "PUT DATA tags"): 7F21 certificate, DF11/DF12/DF13 PIN1/
 * PIN2/PUK block, DF20 add a trust anchor, DF21 remove one by fingerprint.
 */
import { commandApdu, type CommandApdu, type ResponseApdu } from '../../apdu/index.js';
import { encodePinBlock, type PinBlockKind } from '../pin-block.js';
import { checkStatus } from '../status-error.js';
import { requireBytes, requireFingerprintHex } from './arguments.js';
import { DataTag } from './data-objects.js';

export const PUT_DATA = 'PUT DATA';

const MAX_VALUE_LENGTH = 65535;
const PIN_TAG: Readonly<Record<PinBlockKind, number>> = {
  PIN1: DataTag.Pin1,
  PIN2: DataTag.Pin2,
  PUK: DataTag.Puk,
};

function putData(tag: number, value: Buffer): CommandApdu {
  return commandApdu(0x00, 0xda, tag >> 8, tag & 0xff, value);
}

/** 7F21: the card certificate (its key must be the card's, else 6A80). */
export function buildPutCertificate(certificateDer: Buffer): CommandApdu {
  return putData(DataTag.Certificate, requireBytes(certificateDer, 'certificate', { max: MAX_VALUE_LENGTH }));
}

/** DF11 / DF12 / DF13: set PIN1, PIN2 or the PUK and its full retry counter. */
export function buildPutPin(kind: PinBlockKind, pin: string): CommandApdu {
  return putData(PIN_TAG[kind], encodePinBlock(kind, pin));
}

/** DF20: add a trust anchor (a CA certificate, DER). */
export function buildAddTrustAnchor(certificateDer: Buffer): CommandApdu {
  return putData(DataTag.AddTrustAnchor, requireBytes(certificateDer, 'trust anchor', { max: MAX_VALUE_LENGTH }));
}

/** DF21: remove the trust anchor with this SHA-256 fingerprint (64 hex digits). */
export function buildRemoveTrustAnchor(fingerprintHex: string): CommandApdu {
  return putData(DataTag.RemoveTrustAnchor, requireFingerprintHex(fingerprintHex, 'trust anchor fingerprint'));
}

export function parsePutData(response: ResponseApdu): void {
  checkStatus(response, { command: PUT_DATA });
}
