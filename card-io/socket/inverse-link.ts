/**
 * The card line of an inverse-convention card (ISO/IEC 7816-3 §8.1, TS = 3F):
 * a direct-convention UART receives each of its characters bit-inverted and
 * bit-reversed, and must send ours the same way. This ByteLink converts both
 * directions (atr-convention.ts fromInverse), so T=1 above it reads and
 * writes the card's characters as they are.
 */
import { convertInverse } from '../atr/atr-convention.js';
import type { ByteLink, LinkStatus } from '../link/link.js';

export function inverseConventionLink(inner: ByteLink): ByteLink {
  return {
    get status(): LinkStatus {
      return inner.status;
    },
    address: inner.address,
    write: (bytes) => inner.write(convertInverse(bytes)),
    onData: (listener) => inner.onData((chunk) => listener(convertInverse(chunk))),
    onStatus: (listener) => inner.onStatus(listener),
    close: () => inner.close(),
  };
}
