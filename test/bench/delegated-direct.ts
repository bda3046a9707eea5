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
import { connect, type TLSSocket } from 'node:tls';
import { MARKET_SERVER_NAME } from '../../deploy/sandbox/market-pki.js';
import { loadOrCreateCa } from '../../provisioning/ca-store.js';
import { certifyCardKey, createClientCertificate, derToPem, generateP256KeyPair, spkiDer } from '../../provisioning/pki/index.js';

export interface DirectTerminal {
  /** `leaf + card-like CA`, PEM. */
  chainPem: string;
  keyPem: string;
  marketCaPem: string;
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
  return {
    chainPem: derToPem(leaf) + derToPem(cardCa),
    keyPem: leafKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    marketCaPem: await readFile(join(dataDir, 'sandbox', 'market', 'market-ca.pem'), 'utf8'),
  };
}

function fullHandshake(t: DirectTerminal, port: number, timeoutMs: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: MARKET_SERVER_NAME,
      ca: t.marketCaPem,
      cert: t.chainPem,
      key: t.keyPem,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      ALPNProtocols: ['http/1.1'],
    });
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

/** One direct connection: full handshake + GET /whoami (the same HTTP code path as the access card's marketRequest). */
export async function directWhoami(t: DirectTerminal, port: number, timeoutMs = 5000): Promise<void> {
  const socket = await fullHandshake(t, port, timeoutMs);
  const { status, body } = await new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'GET', path: '/whoami', headers: { host: MARKET_SERVER_NAME }, createConnection: () => socket },
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
