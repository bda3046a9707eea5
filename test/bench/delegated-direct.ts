/**
 * The baseline: a terminal that holds its own market credential and makes a
 * DIRECT full mutual-TLS 1.3 handshake to the sandbox market, then GET
 * /whoami on that connection.
 *
 * Its chain has the same shape as the card's: a client leaf (clientAuth,
 * P-256) issued by a card-like constrained CA (pathLength 0) under the
 * sandbox issuer CA (<data>/pki/issuer-ca.pem + .key), which the market
 * trusts. The terminal sends `leaf + card-like CA`, as the gateway does.
 */
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { connect, createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import { MARKET_SERVER_NAME } from '../../deploy/sandbox/market-pki.js';
import { loadOrCreateCa } from '../../provisioning/ca-store.js';
import { certifyCardKey, createClientCertificate, derToPem, generateP256KeyPair, spkiDer } from '../../provisioning/pki/index.js';

export interface DirectTerminal {
  /** `leaf + card-like CA`, PEM. */
  chainPem: string;
  keyPem: string;
  marketCaPem: string;
  /** The same credential built into one TLS context once: the baseline of a direct client that keeps its context. */
  keptContext: SecureContext;
}

export async function createDirectTerminal(dataDir: string): Promise<DirectTerminal> {
  const issuer = await loadOrCreateCa(join(dataDir, 'pki'), 'issuer-ca', 'CN=homegate sandbox issuer CA,O=homegate sandbox');
  const cardKeys = generateP256KeyPair();
  const cardCa = await certifyCardKey({ subject: 'CN=bench card-like CA,O=homegate bench', cardPublicKey: spkiDer(cardKeys.publicKey), issuer });
  const leafKeys = generateP256KeyPair();
  const leaf = await createClientCertificate({
    subject: 'CN=bench direct terminal,O=homegate bench',
    subjectPublicKey: leafKeys.publicKey,
    issuer: { certificate: cardCa, privateKey: cardKeys.privateKey },
    dnsNames: [MARKET_SERVER_NAME],
  });
  const chainPem = derToPem(leaf) + derToPem(cardCa);
  const keyPem = leafKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const marketCaPem = await readFile(join(dataDir, 'sandbox', 'market', 'market-ca.pem'), 'utf8');
  const keptContext = createSecureContext({ ca: marketCaPem, cert: chainPem, key: keyPem, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' });
  return { chainPem, keyPem, marketCaPem, keptContext };
}

function fullHandshake(t: DirectTerminal, port: number, timeoutMs: number, keepContext: boolean): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const credential = keepContext
      ? { secureContext: t.keptContext }
      : { ca: t.marketCaPem, cert: t.chainPem, key: t.keyPem, minVersion: 'TLSv1.3' as const, maxVersion: 'TLSv1.3' as const };
    // By name, as the handed session names the market (the sandbox registers https://localhost:<port>): both paths resolve it.
    const socket = connect({ host: MARKET_SERVER_NAME, port, servername: MARKET_SERVER_NAME, ...credential, ALPNProtocols: ['http/1.1'] });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no TLS connection to the market within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/**
 * One direct connection: full handshake + GET /whoami (the same HTTP code path as the access card's marketRequest).
 * keepContext false: a new TLS context per connection (what `tls.connect` with key/cert/ca does); true: the kept one.
 */
export async function directWhoami(t: DirectTerminal, port: number, keepContext = false, timeoutMs = 5000): Promise<void> {
  const socket = await fullHandshake(t, port, timeoutMs, keepContext);
  const { status, body } = await new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
    const req = request(
      { host: MARKET_SERVER_NAME, port, method: 'GET', path: '/whoami', headers: { host: MARKET_SERVER_NAME }, createConnection: () => socket },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          socket.end();
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
  const who = JSON.parse(body.toString('utf8')) as { resumed?: boolean; clientVerified?: boolean };
  if (status !== 200 || who.resumed !== false || who.clientVerified !== true) {
    throw new Error(`direct /whoami: HTTP ${status}, resumed ${String(who.resumed)}, clientVerified ${String(who.clientVerified)}`);
  }
}
