/**
 * The DNS name to check the gateway's certificate against when `homegate
 * status` reaches the gateway on this machine: `preferred` (localhost) when
 * the certificate names it, else its first DNS name (a provisioned
 * household's certificate names `homegate` and `homegate.local`, RFC 6125
 * §6.4). The chain is still verified against the household CA.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';

export async function certificateDnsName(certFile: string, preferred: string): Promise<string | undefined> {
  let names: string[];
  try {
    const san = new X509Certificate(await readFile(certFile)).subjectAltName ?? '';
    names = san
      .split(', ')
      .filter((n) => n.startsWith('DNS:'))
      .map((n) => n.slice(4));
  } catch {
    return undefined; // no certificate here: the URL's host is checked as before
  }
  if (names.length === 0 || names.includes(preferred)) return undefined;
  return names[0];
}
