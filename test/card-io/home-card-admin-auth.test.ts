/**
 * authenticateAdmin against a scripted card that implements the card side of
 * PROTOCOL.md "Admin authentication" with its own HMAC code (not the driver's),
 * so a mistake shared by both sides cannot hide.
 */
import { createHmac, randomBytes } from 'node:crypto';
import test from 'ava';
import { parseCommandApdu } from '../../card-io/apdu/index.js';
import { CardErrorCode, isCardError, type CardError } from '../../card-io/errors.js';
import { HomeCard } from '../../card-io/home-card/index.js';
import { ScriptedTransport, hex } from './home-card-fakes.js';

const ADMIN_KEY = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');

interface FakeCardOptions {
  key: Buffer;
  /** Answer this instead of the right card cryptogram (an impostor). */
  forgedCardCryptogram?: Buffer;
}

/** The card side: GET CHALLENGE, then EXTERNAL AUTHENTICATE checking the host cryptogram. */
function adminCard({ key, forgedCardCryptogram }: FakeCardOptions) {
  const state = { challenge: undefined as Buffer | undefined, authenticated: false, triesLeft: 10 };
  const hmac = (...parts: Buffer[]) => {
    const h = createHmac('sha256', key);
    for (const p of parts) h.update(p);
    return h.digest();
  };
  const transport = new ScriptedTransport((bytes) => {
    const apdu = parseCommandApdu(bytes);
    if (apdu.ins === 0x84) {
      if (apdu.ne !== 16) return hex('6700');
      state.challenge = randomBytes(16);
      return Buffer.concat([state.challenge, hex('9000')]);
    }
    if (apdu.ins === 0x82 && apdu.p2 === 0x01) {
      const rc = state.challenge;
      state.challenge = undefined; // used once either way
      if (!rc) return hex('6985');
      if (apdu.data.length !== 48) return hex('6A80');
      const rh = apdu.data.subarray(0, 16);
      const expected = hmac(Buffer.from('HG-ADMIN-HOST'), rc, rh);
      if (!expected.equals(apdu.data.subarray(16))) {
        state.triesLeft--;
        return hex(`63C${state.triesLeft.toString(16)}`);
      }
      state.authenticated = true;
      const cardCryptogram = forgedCardCryptogram ?? hmac(Buffer.from('HG-ADMIN-CARD'), rh, rc);
      return Buffer.concat([cardCryptogram, hex('9000')]);
    }
    return hex('6D00');
  });
  return { transport, state };
}

test('authenticateAdmin completes the mutual challenge-response with the right key', async (t) => {
  const { transport, state } = adminCard({ key: ADMIN_KEY });
  const card = new HomeCard({ transport });
  await card.authenticateAdmin(ADMIN_KEY);
  t.true(state.authenticated);
  t.is(transport.sent.length, 2);
  t.is(transport.sent[0]!.toString('hex').toUpperCase(), '0084000010');
  t.is(transport.sent[1]!.subarray(0, 5).toString('hex').toUpperCase(), '0082000130');
});

test('authenticateAdmin sends a fresh host challenge each time', async (t) => {
  const { transport } = adminCard({ key: ADMIN_KEY });
  const card = new HomeCard({ transport });
  await card.authenticateAdmin(ADMIN_KEY);
  await card.authenticateAdmin(ADMIN_KEY);
  const rh1 = transport.sent[1]!.subarray(5, 21);
  const rh2 = transport.sent[3]!.subarray(5, 21);
  t.false(rh1.equals(rh2));
});

test('A card that answers a wrong card cryptogram fails with AdminAuthFailed', async (t) => {
  const { transport } = adminCard({ key: ADMIN_KEY, forgedCardCryptogram: Buffer.alloc(32, 0x5a) });
  const card = new HomeCard({ transport });
  const e = await t.throwsAsync<CardError>(card.authenticateAdmin(ADMIN_KEY));
  t.true(isCardError(e, CardErrorCode.AdminAuthFailed));
  t.like(e?.context, { command: 'EXTERNAL AUTHENTICATE' });
});

test('An impostor that knows a different key also fails with AdminAuthFailed', async (t) => {
  const impostorKey = Buffer.alloc(32, 0x77);
  const hmac = createHmac('sha256', impostorKey).update('anything').digest();
  const { transport } = adminCard({ key: ADMIN_KEY, forgedCardCryptogram: hmac });
  const e = await t.throwsAsync(new HomeCard({ transport }).authenticateAdmin(ADMIN_KEY));
  t.true(isCardError(e, CardErrorCode.AdminAuthFailed));
});

test('A wrong admin key is refused by the card with 63Cx: WrongPin for ADMIN with tries left', async (t) => {
  const { transport, state } = adminCard({ key: ADMIN_KEY });
  const e = await t.throwsAsync<CardError>(new HomeCard({ transport }).authenticateAdmin(Buffer.alloc(32, 0x01)));
  t.true(isCardError(e, CardErrorCode.WrongPin));
  t.like(e?.context, { pin: 'ADMIN', triesLeft: 9, sw: 0x63c9 });
  t.is(e?.message, 'Wrong admin key, 9 tries left (HG-401)');
  t.false(state.authenticated);
});

test('An admin key that is not 32 bytes is rejected before anything is sent', async (t) => {
  const { transport } = adminCard({ key: ADMIN_KEY });
  const e = await t.throwsAsync<CardError>(new HomeCard({ transport }).authenticateAdmin(Buffer.alloc(16)));
  t.true(isCardError(e, CardErrorCode.InvalidArgument));
  t.is(transport.sent.length, 0);
});

test('authenticateAdmin leaves the caller’s key buffer untouched', async (t) => {
  const key = Buffer.from(ADMIN_KEY);
  const { transport } = adminCard({ key: ADMIN_KEY });
  await new HomeCard({ transport }).authenticateAdmin(key);
  t.true(key.equals(ADMIN_KEY));
});
