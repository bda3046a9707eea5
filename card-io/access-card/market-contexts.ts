/**
 * The terminal's TLS client contexts towards markets, one per market trust
 * anchor, kept for the life of the access card (one terminal profile).
 *
 * A resumed connection needs only TLS 1.3 and the anchor that checks the
 * market's certificate carried in the resumed session; `tls.connect` with
 * `ca` would build a new OpenSSL context and parse the anchor for every
 * connection, which cost about as much as the resumption itself
 * (docs/PERFORMANCE.md).
 */
import { createSecureContext, type SecureContext } from 'node:tls';

/** More anchors than a household has markets; past this the oldest context is dropped. */
const MAX_CONTEXTS = 32;

export class MarketContexts {
  readonly #contexts = new Map<string, SecureContext>();

  /** The context for a market anchor (PEM), built on first use. */
  get(marketCaPem: string): SecureContext {
    let context = this.#contexts.get(marketCaPem);
    if (context === undefined) {
      context = createSecureContext({ ca: marketCaPem, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' });
      if (this.#contexts.size >= MAX_CONTEXTS) this.#contexts.delete(this.#contexts.keys().next().value!);
      this.#contexts.set(marketCaPem, context);
    }
    return context;
  }
}
