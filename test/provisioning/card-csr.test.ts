/**
 * The card's own certification request: in personalization the card signs it
 * only after admin authentication, the request verifies with the key the card
 * holds, and provisionCard writes nothing to the card when a PIN breaks the
 * rules (in memory, no emulator process).
 */
import { createHash, sign } from 'node:crypto';
import test from 'ava';
import { CardError, CardErrorCode } from '../../card-io/errors.js';
import { createCardCsr } from '../../provisioning/card-csr.js';
import { PinRuleError } from '../../provisioning/household-pins.js';
import { provisionCard } from '../../provisioning/provision-card.js';
import { generateP256KeyPair, spkiDer } from '../../provisioning/pki/index.js';
import { publicKeyFromCsr } from '../../provisioning/terminal-issuer.js';
import { bootMemoryCard } from '../helpers/household/index.js';

test('In personalization the card signs its own certification request only after admin authentication, and the request verifies with its key', async (t) => {
  const { card, adminKey } = await bootMemoryCard(t);
  await card.select();
  await card.authenticateAdmin(Buffer.from(adminKey));
  const key = await card.generateKeyPair();
  const csr = await createCardCsr('CN=Home card 01,O=Household', spkiDer(key), (d) => card.sign(d));
  t.deepEqual(spkiDer(await publicKeyFromCsr(csr)), spkiDer(key));

  await card.select(); // the admin session ends
  const e = await t.throwsAsync(card.sign(createHash('sha256').update('x').digest()));
  t.true(e instanceof CardError && e.code === CardErrorCode.SecurityStatusNotSatisfied, String(e));
});

test("A request whose signature is not the key holder's is refused by the issuer", async (t) => {
  const { card, adminKey } = await bootMemoryCard(t);
  await card.select();
  await card.authenticateAdmin(Buffer.from(adminKey));
  const key = await card.generateKeyPair();
  const other = generateP256KeyPair();
  const forged = await createCardCsr('CN=Home card 01', spkiDer(key), async (digest) =>
    // Signed by another key over the same digest: the proof of possession fails.
    sign(null, digest, { key: other.privateKey, dsaEncoding: 'der' }),
  );
  await t.throwsAsync(publicKeyFromCsr(forged), { message: /not signed by its own key/ });
});

test('provisionCard refuses PINs that break the rules before sending the card anything', async (t) => {
  const { card, adminKey, ifd } = await bootMemoryCard(t);
  const before = ifd.stats.blocksSent;
  const e = await t.throwsAsync(
    provisionCard({
      card,
      adminKey,
      pins: { pin1: '1234', pin2: '1234', puk: '12345678' },
      subject: () => 'CN=x',
      certificate: { kind: 'round-trip', csr: async () => undefined },
    }),
  );
  t.true(e instanceof PinRuleError);
  t.is(ifd.stats.blocksSent, before);
});
