/**
 * The form of a serialized TLS session, the key a terminal is handed.
 *
 * The portable form is OpenSSL's `SSL_SESSION` DER: what Node up to the 22.23 /
 * 24.x security releases gives and takes, and what `openssl s_client -sess_in`
 * and any other OpenSSL-based client read. Node releases with the fix for
 * CVE-2026-48934 ("tls: bind reusable sessions to authenticated host") give and
 * take another form instead: the magic `\0nodejs:tls:session:1\0`, the host the
 * session was authenticated for (a 16-bit big-endian length, then the name),
 * then that DER; they resume only such a buffer, and only on a connection to
 * that host. Neither kind of Node resumes the other's form.
 *
 * So a session always travels in the portable form (`portableSession`, where
 * Node hands one out), and is put into this Node's own form right before it
 * is resumed (`sessionForThisNode`, with the servername the connection uses,
 * the one the market's certificate was checked for). Which form this Node
 * takes is found once per process by a loopback handshake (`nodeBindsSessions`).
 */
import { once } from 'node:events';
import { connect, createServer, type TLSSocket } from 'node:tls';

const MAGIC = Buffer.from('\0nodejs:tls:session:1\0', 'latin1');

/** A bound session's parts; `host` is null for the portable form. */
export interface SessionParts {
  der: Buffer;
  host: string | null;
}

/** Splits a session in either form; throws on a bound form that is cut short. */
export function sessionParts(session: Buffer): SessionParts {
  if (!session.subarray(0, MAGIC.length).equals(MAGIC)) return { der: session, host: null };
  const at = MAGIC.length;
  if (session.length < at + 2) throw new Error('a bound TLS session is cut short before its host');
  const length = session.readUInt16BE(at);
  const end = at + 2 + length;
  if (session.length <= end) throw new Error('a bound TLS session is cut short');
  return { der: session.subarray(end), host: session.subarray(at + 2, end).toString('latin1') };
}

/** The portable form (OpenSSL's SSL_SESSION DER) of a session Node gave, in either form. */
export function portableSession(session: Buffer): Buffer {
  return Buffer.from(sessionParts(session).der);
}

/** `der` bound to `host` in the newer Node form. */
export function bindSession(der: Buffer, host: string): Buffer {
  const name = Buffer.from(host, 'latin1');
  if (name.length > 0xffff) throw new Error('a host name longer than 65535 bytes');
  const length = Buffer.alloc(2);
  length.writeUInt16BE(name.length);
  return Buffer.concat([MAGIC, length, name, der]);
}

// A throwaway self-signed certificate and its key, used only by the loopback probe below: the
// probe's client trusts exactly this certificate, for this one connection to itself. It protects
// nothing and nothing else trusts it, so its key is not a secret. Valid 2000 to 2200, so a board
// whose clock is not set yet still completes the probe.
const PROBE_NAME = 'session-probe.homegate.invalid';
const PROBE_CERT = [
  '-----BEGIN CERTIFICATE-----',
  'MIIBfDCCASKgAwIBAgIBATAKBggqhkjOPQQDAjAoMSYwJAYDVQQDEx1ob21lZ2F0',
  'ZSBzZXNzaW9uLWZvcm1hdCBwcm9iZTAgFw0wMDAxMDEwMDAwMDBaGA8yMjAwMDEw',
  'MTAwMDAwMFowKDEmMCQGA1UEAxMdaG9tZWdhdGUgc2Vzc2lvbi1mb3JtYXQgcHJv',
  'YmUwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASEAS8us8iaBHOf0T2FUcevGMCk',
  '2DRSpAIWYUcYWsOVONPoGaXC8NV6fFdrvZugRuTIJianBvFacZLTYMPLDps8ozsw',
  'OTApBgNVHREEIjAggh5zZXNzaW9uLXByb2JlLmhvbWVnYXRlLmludmFsaWQwDAYD',
  'VR0TAQH/BAIwADAKBggqhkjOPQQDAgNIADBFAiBLF12tMKUkIJACg65Qdq7lHedA',
  'GMduGFVOt8H+QnQXkgIhALoc6LtBrQgyTa9SoklIU0vEjRD4l574ToPHKf5ugdBv',
  '-----END CERTIFICATE-----',
].join('\n');
const PROBE_KEY = [
  '-----BEGIN EC PRIVATE KEY-----',
  'MHcCAQEEIHa2h9ZM3G3aegSwfvz4fmCzoe2AwkAnByBO8v4YlXIloAoGCCqGSM49',
  'AwEHoUQDQgAEhAEvLrPImgRzn9E9hVHHrxjApNg0UqQCFmFHGFrDlTjT6BmlwvDV',
  'enxXa72boEbkyCYmpwbxWnGS02DDyw6bPA==',
  '-----END EC PRIVATE KEY-----',
].join('\n');

let binds: Promise<boolean> | undefined;

/**
 * Whether this Node takes sessions in the bound form: a TLS 1.3 handshake over loopback between
 * a server and a client of this process, then the form of the session the client is given.
 * Once per process; a probe that fails is tried again at the next call.
 */
export function nodeBindsSessions(): Promise<boolean> {
  binds ??= probe().catch((e: unknown) => {
    binds = undefined;
    throw e;
  });
  return binds;
}

async function probe(): Promise<boolean> {
  // One byte written: Node's server sends its TLS 1.3 tickets with its first write.
  const server = createServer({ cert: PROBE_CERT, key: PROBE_KEY, minVersion: 'TLSv1.3' }, (s) => s.end('.'));
  server.on('tlsClientError', () => undefined);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  let socket: TLSSocket | undefined;
  try {
    socket = connect({ host: '127.0.0.1', port, servername: PROBE_NAME, ca: PROBE_CERT, minVersion: 'TLSv1.3' });
    socket.on('data', () => undefined);
    const [session] = (await Promise.race([
      once(socket, 'session'),
      once(socket, 'error').then(([e]) => Promise.reject(e as Error)),
      new Promise((_, reject) => setTimeout(() => reject(new Error('the TLS session-form probe got no session within 5 s')), 5000).unref()),
    ])) as [Buffer];
    return sessionParts(session).host !== null;
  } finally {
    socket?.destroy();
    server.close();
  }
}

/** `session` (either form) in the form this Node resumes, bound to `servername` where this Node binds sessions. */
export async function sessionForThisNode(session: Buffer, servername: string): Promise<Buffer> {
  const der = sessionParts(session).der;
  return (await nodeBindsSessions()) ? bindSession(der, servername) : der;
}
