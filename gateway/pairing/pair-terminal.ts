/**
 * Pairing, the terminal's side (`homegate terminal pair [--gateway URL] CODE`):
 *
 * 1. the gateway's URL: --gateway, else the one in the code, else mDNS
 *    (`_homegate._tcp`, when a discoverer is given);
 * 2. the gateway is pinned: GET /v1/pairing/ca is fetched without trusting
 *    anything, and its SHA-256 must be the fingerprint the code carries
 *    (compared in constant time); from then on TLS verifies the gateway
 *    against that root and nothing else. The host name is not checked: the
 *    pinned root is the authentication, and an mDNS answer may be an address
 *    the certificate does not name;
 * 3. the key pair is made here and written to the new profile (0600) before
 *    anything is sent; only the CSR and the code's proof leave the terminal;
 * 4. the answer (certificate and chain, root, card certificate, broker login)
 *    completes the profile, which is built under a hidden name and renamed
 *    into place only when whole (a half profile is never picked up).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { rename } from 'node:fs/promises';
import { request } from 'node:https';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { OPTIONAL_PROFILE_FILES, PROFILE_FILES, type TerminalProfileJson } from '../../card-io/access-card/terminal-profile.js';
import { fsyncDirectory } from '../../card-io/base/durable/atomic-file.js';
import { generateP256KeyPair, pemToDer, sha256Fingerprint } from '../../provisioning/pki/index.js';
import { createTerminalCsr } from '../../provisioning/terminal-issuer.js';
import { createProfileDir, KEY_FILE_MODE, PUBLIC_FILE_MODE, removeProfileDir, writeNewFile } from '../enrollment/profile-dir.js';
import { decodePairingCode, pairingProof } from './pairing-code.js';
import { PairingError } from './pairing-error.js';
import type { PairingAnswer } from './pairing-service.js';

export interface PairTerminalOptions {
  code: string;
  /** https URL of the gateway; overrides the code's. */
  gatewayUrl?: string;
  /** `<data>/terminals`: the profile goes to `<terminalsDir>/<name>/`. */
  terminalsDir: string;
  /** Finds the gateway on the LAN when neither the flag nor the code gives a URL. */
  discover?: () => Promise<string | undefined>;
  timeoutMs?: number;
}

export interface PairedTerminal {
  terminalId: string;
  name: string;
  profileDir: string;
  gatewayUrl: string;
}

interface Answer {
  status: number;
  json: Record<string, unknown>;
}

function call(url: URL, method: 'GET' | 'POST', path: string, ca: string | undefined, body: unknown, timeoutMs: number): Promise<Answer> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: Number(url.port || 443),
        path,
        method,
        minVersion: 'TLSv1.3',
        ...(ca === undefined ? { rejectUnauthorized: false } : { ca, checkServerIdentity: () => undefined }),
        // SNI carries host names only (RFC 6066 §3), never an address.
        ...(isIP(url.hostname.replace(/^\[|\]$/g, '')) === 0 ? { servername: url.hostname } : {}),
        timeout: timeoutMs,
        headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> });
          } catch {
            reject(new PairingError('bad-answer', `The gateway at ${url.origin} answered ${res.statusCode} without JSON`));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e) => reject(new PairingError('gateway-not-found', `Cannot reach the gateway at ${url.origin}: ${e.message}`, {}, { cause: e })));
    req.end(payload);
  });
}

function refusal(a: Answer): PairingError {
  const e = (a.json.error ?? {}) as { code?: string; message?: string };
  const code = e.code === 'pairing-refused' || e.code === 'pairing-throttled' ? e.code : 'bad-answer';
  return new PairingError(code, `The gateway refused the pairing: ${e.message ?? `HTTP ${a.status}`}`, { status: a.status });
}

async function gatewayUrlFor(o: PairTerminalOptions, codeUrl: string | undefined): Promise<URL> {
  const url = o.gatewayUrl ?? codeUrl ?? (await o.discover?.());
  if (url === undefined) {
    throw new PairingError('gateway-not-found', 'No gateway URL: none in the code, none given with --gateway, and no gateway answered on the LAN (mDNS)');
  }
  if (!URL.canParse(url) || new URL(url).protocol !== 'https:') throw new PairingError('gateway-not-found', `Not an https URL: ${url}`);
  return new URL(url);
}

function text(json: Record<string, unknown>, name: keyof PairingAnswer): string {
  const v = json[name];
  if (typeof v !== 'string' || v === '') throw new PairingError('bad-answer', `The gateway's pairing answer lacks "${name}"`);
  return v;
}

export async function pairTerminal(o: PairTerminalOptions): Promise<PairedTerminal> {
  const code = decodePairingCode(o.code);
  const url = await gatewayUrlFor(o, code.gatewayUrl);
  const timeoutMs = o.timeoutMs ?? 30_000;

  const ca = await call(url, 'GET', '/v1/pairing/ca', undefined, undefined, timeoutMs);
  const caPem = typeof ca.json.householdCaPem === 'string' ? ca.json.householdCaPem : undefined;
  if (ca.status !== 200 || caPem === undefined) throw refusal(ca);
  const fingerprint = sha256Fingerprint(pemToDer(caPem));
  if (!timingSafeEqual(fingerprint, code.caFingerprint)) {
    throw new PairingError('gateway-not-pinned', `The gateway at ${url.origin} is not of the household this code was made for; nothing was sent`);
  }

  const staging = join(o.terminalsDir, `.pairing-${randomBytes(6).toString('hex')}`);
  await createProfileDir(staging);
  let keepStaging = false;
  try {
    const keys = generateP256KeyPair();
    await writeNewFile(staging, PROFILE_FILES.key, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), KEY_FILE_MODE);
    const csr = await createTerminalCsr('pairing', keys); // the gateway names the certificate after the code's terminal
    const body = { code: code.id.toString('base64url'), proof: pairingProof(code, csr).toString('base64url'), csr: csr.toString('base64') };
    const answer = await call(url, 'POST', '/v1/pairing', caPem, body, timeoutMs);
    if (answer.status !== 200) throw refusal(answer);
    const a = answer.json;
    const name = text(a, 'name');
    const terminalId = text(a, 'terminalId');
    await writeNewFile(staging, PROFILE_FILES.certificate, text(a, 'certificatePem'), PUBLIC_FILE_MODE);
    await writeNewFile(staging, PROFILE_FILES.householdCa, caPem, PUBLIC_FILE_MODE);
    if (typeof a.cardCertificatePem === 'string') await writeNewFile(staging, OPTIONAL_PROFILE_FILES.cardCertificate, a.cardCertificatePem, PUBLIC_FILE_MODE);
    if (a.broker !== undefined) await writeNewFile(staging, OPTIONAL_PROFILE_FILES.broker, `${JSON.stringify(a.broker)}\n`, KEY_FILE_MODE);
    const profile: TerminalProfileJson = { name, terminalId, gatewayUrl: url.origin, mail: text(a, 'mail') };
    await writeNewFile(staging, PROFILE_FILES.profile, `${JSON.stringify(profile, null, 2)}\n`, PUBLIC_FILE_MODE);
    await fsyncDirectory(staging);
    const profileDir = join(o.terminalsDir, name);
    try {
      await rename(staging, profileDir);
    } catch (e) {
      keepStaging = true;
      throw new PairingError('bad-answer', `Paired as ${name}, but ${profileDir} exists: the new profile is in ${staging}; move it by hand`, {}, { cause: e });
    }
    await fsyncDirectory(o.terminalsDir);
    return { terminalId, name, profileDir, gatewayUrl: url.origin };
  } catch (e) {
    if (!keepStaging) await removeProfileDir(staging);
    throw e;
  }
}
