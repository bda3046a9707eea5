/**
 * The benchmark's card: a personalized card image (made in process, straight
 * through the applet), and the reader-side stack over any host link:
 * link → MeteredLink → T=1 interface device → MeteredTransport → HomeCard.
 */
import { chmod, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHomeCardApplet } from '../../card-io/emulator/applet.js';
import { createCardImage } from '../../card-io/emulator/card-image.js';
import { waitForConnected } from '../../card-io/home-card/connect.js';
import { HomeCard } from '../../card-io/home-card/home-card.js';
import type { ByteLink } from '../../card-io/link/link.js';
import { silentLogger } from '../../card-io/base/log.js';
import { T1InterfaceDevice } from '../../card-io/t1/t1-interface-device.js';
import { personalizeCard } from '../../provisioning/personalize-card.js';
import { createRootCa, generateP256KeyPair } from '../../provisioning/pki/index.js';
import { MeteredLink, MeteredTransport } from './metering.js';

export const BENCH_PINS = { pin1: '1234', pin2: '5678', puk: '87654321' } as const;

/** A personalized card image at `<dir>/card.img`. */
export async function personalizedImage(dir: string): Promise<string> {
  const imagePath = join(dir, 'card.img');
  const { image, adminKey } = await createCardImage(imagePath);
  const applet = createHomeCardApplet({ store: image });
  const card = new HomeCard({ transport: { transmit: (apdu) => applet.process(apdu) } });
  const { privateKey } = generateP256KeyPair();
  const issuer = { privateKey, certificate: await createRootCa({ subject: 'CN=Bench issuer CA', privateKey }) };
  await personalizeCard({ card, adminKey, issuer, subject: 'CN=Bench card', pins: BENCH_PINS });
  return imagePath;
}

/** A copy of the image (each line's card writes its own), mode 0600 as the card expects. */
export async function copyImage(imagePath: string, name: string): Promise<string> {
  const copy = `${imagePath}.${name}`;
  await copyFile(imagePath, copy);
  await chmod(copy, 0o600);
  return copy;
}

export interface CardStack {
  readonly card: HomeCard;
  readonly ifd: T1InterfaceDevice;
  readonly wire: MeteredLink;
  readonly payload: MeteredTransport;
  close(): void;
}

export async function openCardStack(link: ByteLink): Promise<CardStack> {
  await waitForConnected(link, 5000);
  const wire = new MeteredLink(link);
  const ifd = new T1InterfaceDevice({ link: wire, logger: silentLogger });
  await ifd.start();
  const payload = new MeteredTransport(ifd);
  const card = new HomeCard({ transport: payload });
  return { card, ifd, wire, payload, close: () => ifd.close() };
}
