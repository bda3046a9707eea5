/**
 * What a terminal does with a handed session in the proxy tests: resume with
 * only the session (no key, no certificate), in this Node's form
 * (card-io/base/tls/node-session-form.ts), and ask the local market's /whoami.
 */
import { once } from 'node:events';
import tls from 'node:tls';
import { sessionForThisNode } from '../../card-io/base/tls/node-session-form.js';
import { MARKET_HOST } from './proxy-fixtures.js';

export interface ResumedWhoami {
  reused: boolean;
  body: { subject: string | null; issuer: string | null; resumed: boolean };
}

export async function resumeAndWhoami(session: Buffer, port: number, alpn = 'http/1.1'): Promise<ResumedWhoami> {
  const socket = tls.connect({
    host: '127.0.0.1',
    port,
    servername: MARKET_HOST,
    session: await sessionForThisNode(session, MARKET_HOST),
    ALPNProtocols: [alpn],
  });
  await once(socket, 'secureConnect');
  const reused = socket.isSessionReused();
  socket.write(`GET /whoami HTTP/1.1\r\nHost: ${MARKET_HOST}\r\nConnection: close\r\n\r\n`);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await once(socket, 'end');
  socket.destroy();
  const text = Buffer.concat(chunks).toString('utf8');
  return { reused, body: JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as ResumedWhoami['body'] };
}
