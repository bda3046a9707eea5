/**
 * Two terminals enrolled under one household CA, as the listener would see
 * them: each with its key, its client certificate (DER) and its registry id.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { CompactSign } from 'jose';
import { createClientCertificate, createRootCa, generateP256KeyPair } from '../../provisioning/pki/index.js';

export interface TestTerminal {
  id: string;
  privateKey: KeyObject;
  certificate: Buffer;
  certFingerprint: string;
}

async function terminal(id: string, name: string, ca: { privateKey: KeyObject; certificate: Buffer }): Promise<TestTerminal> {
  const { privateKey, publicKey } = generateP256KeyPair();
  const certificate = await createClientCertificate({ subject: `CN=${name}`, subjectPublicKey: publicKey, issuer: ca });
  return { id, privateKey, certificate, certFingerprint: createHash('sha256').update(certificate).digest('hex') };
}

export async function twoTerminals(): Promise<{ alice: TestTerminal; bob: TestTerminal }> {
  const { privateKey } = generateP256KeyPair();
  const ca = { privateKey, certificate: await createRootCa({ subject: 'CN=Household CA', privateKey }) };
  return { alice: await terminal('a11ce00000000001', 'alice', ca), bob: await terminal('b0b0000000000002', 'bob', ca) };
}

const b64url = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** A JWS with exactly the given header and payload, signed by `key` with the header's alg (for forgeries). */
export function signRaw(header: { alg: string; kid?: string }, payload: unknown, key: KeyObject | Uint8Array): Promise<string> {
  return new CompactSign(Buffer.from(JSON.stringify(payload))).setProtectedHeader(header).sign(key);
}

/** An unsecured JWS (RFC 7515 appendix A.5): alg none, empty signature. */
export function unsecured(header: Record<string, unknown>, payload: unknown): string {
  return `${b64url(header)}.${b64url(payload)}.`;
}

/** Replace the payload segment, keeping header and signature. */
export function withPayload(jws: string, payload: unknown): string {
  const [h, , s] = jws.split('.');
  return `${h}.${b64url(payload)}.${s}`;
}

export function decodePayload(jws: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}
