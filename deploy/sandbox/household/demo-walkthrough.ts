/**
 * `npm run demo`: the demo terminal unlocks the card (PIN1), has the gateway
 * authenticate to the sandbox market with it (PIN2), resumes the handed
 * session itself and asks the market who it is and for the catalogue. It
 * succeeds only if the market saw a RESUMED session carrying the card's
 * identity (a session certificate issued by the home card).
 */
import { X509Certificate } from 'node:crypto';
import { AccessCard } from '../../../card-io/access-card/access-card.js';
import { marketRequest } from '../../../card-io/access-card/market-request.js';
import { loadTerminalProfile } from '../../../card-io/access-card/terminal-profile.js';
import type { CardPins } from '../../../provisioning/personalize-card.js';

export interface DemoResult {
  resumed: boolean;
  clientSubject: string | null;
  clientIssuer: string | null;
  cardSubject: string;
  catalogueItems: number;
}

export async function runDemoWalkthrough(o: {
  profileDir: string;
  market: string;
  pins: CardPins;
  cardCertificate: Buffer;
  say: (l: string) => void;
}): Promise<DemoResult> {
  const profile = await loadTerminalProfile(o.profileDir);
  const access = new AccessCard(profile, async (which) => (which === 'PIN1' ? o.pins.pin1 : o.pins.pin2));
  await access.unlock();
  o.say(`terminal "${profile.name}" unlocked the home card with PIN1`);
  const session = await access.authorize(o.market);
  o.say(
    `the gateway authenticated to "${o.market}" with the card (PIN2) and handed over the session (${session.session.length}-byte SSL_SESSION, client ` +
      `"${session.clientSubject}")`,
  );
  const whoami = await marketRequest(session, { method: 'GET', path: '/whoami' });
  const who = JSON.parse(whoami.body.toString('utf8')) as { resumed: boolean; clientSubject: string | null; clientIssuer: string | null };
  const cardSubject = new X509Certificate(o.cardCertificate).subject.split('\n').join(',');
  o.say(`the terminal resumed the session itself: the market saw resumed=${who.resumed}, client "${who.clientSubject}" issued by "${who.clientIssuer}"`);
  const catalogue = JSON.parse((await marketRequest(session, { method: 'GET', path: '/catalog' })).body.toString('utf8')) as { items?: unknown[] };
  const items = catalogue.items?.length ?? 0;
  o.say(`catalogue fetched on a resumed connection: ${items} items`);
  await access.lock();
  access.close();
  return { resumed: who.resumed, clientSubject: who.clientSubject, clientIssuer: who.clientIssuer, cardSubject, catalogueItems: items };
}

/** The demo's verdict: resumed, and the client certificate was issued by the home card. */
export function demoSucceeded(r: DemoResult): boolean {
  const norm = (s: string | null) => (s ?? '').replace(/\s*,\s*/g, ',');
  return r.resumed && norm(r.clientIssuer) === norm(r.cardSubject) && r.catalogueItems > 0;
}
