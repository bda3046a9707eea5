/**
 * The sandbox household's home card: an image under <data>/sandbox, the
 * sandbox issuer CA under <data>/pki, personalized on first run with the
 * documented demo passwords. A second start reuses all of it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCardImage } from '../../../card-io/emulator/card-image.js';
import type { HomeCard, PurseSetup } from '../../../card-io/home-card/home-card.js';
import { loadOrCreateCa, type StoredCa } from '../../../provisioning/ca-store.js';
import { personalizeCard, type CardPins } from '../../../provisioning/personalize-card.js';

/** Documented in README.md; a sandbox only, never a real household's card. */
export const DEMO_PINS: CardPins = { pin1: '1234', pin2: '5678', puk: '87654321' };

export interface SandboxCardFiles {
  imagePath: string;
  adminKeyPath: string;
  issuer: StoredCa;
}

/** Make the image and the issuer CA if this is the first run. */
export async function prepareSandboxCard(dataDir: string): Promise<SandboxCardFiles & { created: boolean }> {
  const issuer = await loadOrCreateCa(join(dataDir, 'pki'), 'issuer-ca', 'CN=homegate sandbox issuer CA,O=homegate sandbox');
  const dir = join(dataDir, 'sandbox');
  const imagePath = join(dir, 'card.img');
  const adminKeyPath = join(dir, 'card-admin.key');
  if (await exists(imagePath)) return { imagePath, adminKeyPath, issuer, created: false };
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // The key is saved before the image exists: a crash in between leaves no card without its key.
  const adminKey = randomBytes(32);
  await writeFile(adminKeyPath, adminKey.toString('hex') + '\n', { mode: 0o600 });
  await createCardImage(imagePath, { adminKey });
  return { imagePath, adminKeyPath, issuer, created: true };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function adminKey(files: SandboxCardFiles): Promise<Buffer> {
  return Buffer.from((await readFile(files.adminKeyPath, 'utf8')).trim(), 'hex');
}

/** Personalize the card unless it already is. */
export async function ensurePersonalized(card: HomeCard, files: SandboxCardFiles, anchors: readonly Buffer[] = [], purse?: PurseSetup): Promise<boolean> {
  const { lifeCycle, cardId } = await card.select();
  if (lifeCycle === 'operational') return false;
  await personalizeCard({
    card,
    adminKey: await adminKey(files),
    issuer: files.issuer,
    subject: `CN=Home card ${cardId},O=homegate sandbox household`,
    pins: DEMO_PINS,
    anchors,
    ...(purse ? { purse } : {}),
  });
  return true;
}

/** Make sure the market's trust anchor is on the card (admin authentication). */
export async function ensureMarketAnchor(card: HomeCard, files: SandboxCardFiles, anchorDer: Buffer): Promise<void> {
  const fp = createHash('sha256').update(anchorDer).digest('hex');
  if ((await card.listTrustAnchors()).includes(fp)) return;
  await card.select();
  await card.authenticateAdmin(await adminKey(files));
  await card.addTrustAnchor(anchorDer);
  await card.select();
}
