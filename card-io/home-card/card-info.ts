/**
 * Small readers behind HomeCard.info(): an absent GET DATA value (6A88) as
 * undefined, and a certificate's subject on one line.
 */
import { X509Certificate } from 'node:crypto';
import { CardError, CardErrorCode, isCardError } from '../errors.js';
import { GET_DATA } from './commands/get-data.js';

/** GET DATA answers 6A88 (NotFound) for an absent value; here that means "none yet". */
export async function absentAsUndefined<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (e) {
    if (isCardError(e, CardErrorCode.NotFound)) return undefined;
    throw e;
  }
}

export function subjectOf(certificate: Buffer | undefined): string | undefined {
  if (!certificate) return undefined;
  try {
    // Node prints one RDN per line; one line reads better in logs and tables.
    return new X509Certificate(certificate).subject.split('\n').join(', ');
  } catch (cause) {
    throw new CardError(
      CardErrorCode.MalformedApdu,
      'GET DATA answered a certificate that does not parse',
      {
        command: GET_DATA,
        length: certificate.length,
      },
      { cause },
    );
  }
}
