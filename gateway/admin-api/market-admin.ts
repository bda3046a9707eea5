/**
 * Registering a market (`homegate market add`): its URL and trust anchor go
 * into the registry AND onto the home card, which checks market chains
 * against its own anchors (claim 2). The card needs the household's admin
 * authentication for that. Both change together or not at all: a card
 * failure undoes the registry entry.
 */
import { X509Certificate, createHash } from 'node:crypto';
import type { HomeCard } from '../../card-io/home-card/home-card.js';
import type { Logger } from '../../card-io/base/log.js';
import type { CardService } from '../card/card-service.js';
import type { MarketRecord, Registry } from '../registry/index.js';
import { ApiError } from '../terminal-api/api-error.js';
import { readSecretFile } from '../../card-io/base/durable/secret-file.js';

export interface MarketAdminOptions {
  registry: Registry;
  cards: CardService;
  /** File holding the card admin key (hex); without it markets cannot be put on the card. */
  adminKeyFile: string | undefined;
  logger: Logger;
}

function anchorDer(pem: string): Buffer {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    throw new ApiError(400, 'bad-request', 'The market CA is not a PEM certificate');
  }
  if (!cert.ca) throw new ApiError(400, 'bad-request', 'The market trust anchor must be a CA certificate');
  return cert.raw;
}

export class MarketAdmin {
  constructor(private readonly o: MarketAdminOptions) {}

  list(): Array<{ name: string; url: string; anchorFingerprint: string }> {
    return this.o.registry.listMarkets().map((m) => ({ name: m.name, url: m.url, anchorFingerprint: fingerprint(anchorDer(m.anchorPem)) }));
  }

  async add(name: string, url: string, caPem: string): Promise<MarketRecord> {
    const der = anchorDer(caPem);
    const record = await this.o.registry.addMarket({ name, url, anchorPem: caPem });
    try {
      await this.asAdmin((card) => card.addTrustAnchor(der));
    } catch (e) {
      await this.o.registry.removeMarket(name);
      throw e;
    }
    this.o.logger.info({ market: name, url: record.url }, 'market registered');
    return record;
  }

  async remove(name: string): Promise<void> {
    const market = this.o.registry.getMarket(name);
    if (!market) throw new ApiError(404, 'market-unknown', `No market named ${name}`);
    const fp = fingerprint(anchorDer(market.anchorPem));
    const stillUsed = this.o.registry.listMarkets().some((m) => m.name !== name && fingerprint(anchorDer(m.anchorPem)) === fp);
    if (!stillUsed) {
      await this.asAdmin(async (card) => {
        if ((await card.listTrustAnchors()).includes(fp)) await card.removeTrustAnchor(fp);
      });
    }
    await this.o.registry.removeMarket(name);
    this.o.logger.info({ market: name }, 'market removed');
  }

  private async asAdmin(fn: (card: HomeCard) => Promise<void>): Promise<void> {
    if (!this.o.adminKeyFile) throw new ApiError(409, 'conflict', 'No card admin key configured (card.adminKeyFile): markets cannot be put on the card');
    const key = Buffer.from((await readSecretFile(this.o.adminKeyFile)).toString('utf8').trim(), 'hex');
    try {
      await this.o.cards.exclusive(async (card) => {
        await card.select();
        try {
          await card.authenticateAdmin(key);
          await fn(card);
        } finally {
          // End the admin session at once; terminals re-open theirs with PIN1.
          await card.select();
        }
      });
    } finally {
      key.fill(0);
    }
  }
}

export function fingerprint(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex');
}
