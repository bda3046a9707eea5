/**
 * The backup file: a data snapshot (data-snapshot.ts), gzipped, encrypted
 * with a key derived from a passphrase. It holds the gateway's private keys,
 * so it is never written in the clear.
 *
 *   "HGBK" ‖ version (1) ‖ log2 N (1) ‖ r (1) ‖ p (1) ‖ salt (16) ‖ nonce (12) ‖ ciphertext ‖ tag (16)
 *
 * - key: scrypt (RFC 7914) with N = 2^15, r = 8, p = 1 (32 MiB, well under a
 *   second on a Raspberry Pi 4), 32 bytes; the parameters are in the header
 *   so a later version can raise them and still read old files;
 * - AES-256-GCM (NIST SP 800-38D) with a random 96-bit nonce (one key per
 *   file: the salt is fresh), the whole header as additional data, so a
 *   changed parameter or salt fails like a wrong passphrase.
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { BackupError } from './backup-error.js';
import type { DataSnapshot } from './data-snapshot.js';

const MAGIC = Buffer.from('HGBK');
const FORMAT_VERSION = 1;
const HEADER_BYTES = MAGIC.length + 4 + 16 + 12;
const TAG_BYTES = 16;
const DEFAULT_LOG2_N = 15;
/** Refused when reading: parameters that would make scrypt take minutes or gigabytes. */
const MAX_LOG2_N = 20;
/**
 * scrypt needs 128·N·r bytes (RFC 7914 §6) and p times the work: a file may ask
 * for at most 4 times what this version writes (32 MiB, p = 1), so a crafted
 * header cannot make a restore on a 1 GB board allocate gigabytes.
 */
const MAX_SCRYPT_BYTES = 4 * 128 * 2 ** DEFAULT_LOG2_N * 8;
const MAX_P = 4;
/** Passphrases shorter than this fall to an offline guess even behind scrypt. */
export const MIN_PASSPHRASE = 10;

function deriveKey(passphrase: string, salt: Buffer, log2N: number, r: number, p: number): Buffer {
  const N = 2 ** log2N;
  return scryptSync(passphrase.normalize('NFC'), salt, 32, { N, r, p, maxmem: 256 * N * r + 16 * 1024 * 1024 });
}

export function encryptBackup(snapshot: DataSnapshot, passphrase: string): Buffer {
  if (passphrase.length < MIN_PASSPHRASE) throw new BackupError('passphrase', `The passphrase needs at least ${MIN_PASSPHRASE} characters`);
  const salt = randomBytes(16);
  const nonce = randomBytes(12);
  const header = Buffer.concat([MAGIC, Buffer.from([FORMAT_VERSION, DEFAULT_LOG2_N, 8, 1]), salt, nonce]);
  const cipher = createCipheriv('aes-256-gcm', deriveKey(passphrase, salt, DEFAULT_LOG2_N, 8, 1), nonce);
  cipher.setAAD(header);
  const body = Buffer.concat([cipher.update(gzipSync(Buffer.from(JSON.stringify(snapshot)))), cipher.final()]);
  return Buffer.concat([header, body, cipher.getAuthTag()]);
}

export function decryptBackup(file: Buffer, passphrase: string): DataSnapshot {
  if (file.length < HEADER_BYTES + TAG_BYTES || !file.subarray(0, MAGIC.length).equals(MAGIC)) throw new BackupError('invalid', 'Not a homegate backup file');
  const [version, log2N, r, p] = file.subarray(MAGIC.length, MAGIC.length + 4);
  if (version !== FORMAT_VERSION) throw new BackupError('invalid', `A backup of format ${version}; this homegate reads format ${FORMAT_VERSION}`);
  if (!log2N || log2N > MAX_LOG2_N || !r || r > 32 || !p || p > MAX_P || 128 * 2 ** log2N * r > MAX_SCRYPT_BYTES)
    throw new BackupError('invalid', 'The backup asks for key derivation parameters out of range');
  const header = file.subarray(0, HEADER_BYTES);
  const salt = header.subarray(MAGIC.length + 4, MAGIC.length + 20);
  const nonce = header.subarray(MAGIC.length + 20);
  const decipher = createDecipheriv('aes-256-gcm', deriveKey(passphrase, Buffer.from(salt), log2N, r, p), nonce);
  decipher.setAAD(header);
  decipher.setAuthTag(file.subarray(file.length - TAG_BYTES));
  let plain: Buffer;
  try {
    plain = Buffer.concat([decipher.update(file.subarray(HEADER_BYTES, file.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new BackupError('wrong-passphrase', 'Wrong passphrase, or the backup file was changed');
  }
  return JSON.parse(gunzipSync(plain).toString('utf8')) as DataSnapshot;
}
