/**
 * Refused purse operations change nothing anywhere (claims 4, 5, 6; PROTOCOL.md
 * "A refused purse command changes nothing"): after every refusal the card's
 * balance and counter, the gateway's archive, the market's orders, the
 * issuer's account and the terminal's mailbox are as before.
 *
 * Through the gateway, over real sockets: insufficient funds, over the
 * per-payment limit, a wrong PIN2, an unknown order, a second cancel of the
 * same decision; a FORGED cancel authorization (a rogue answering for the
 * market's host, with the market's TLS key but not its signing key, or with
 * a signing certificate from a CA that is not on the card) and a REPLAYED
 * load authorization (a proxy in front of the issuer that answers a new
 * top-up with the exact authorization the issuer gave for an earlier one),
 * both carried by the gateway to the card, which refuses them.
 *
 * At the card itself (the gateway stopped, a direct HomeCard on the same
 * emulator): the market's genuine authorization for an already cancelled
 * decision (the gateway refuses a second cancel before the card sees it),
 * the forged cancel and the replayed load, with the card's own status words.
 *
 * Paying at another market: the card names the market whose chain it
 * verified in the record (DF51), so a record cannot pay elsewhere; a second
 * market refuses the record.
 */
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { CardErrorCode, isCardError } from '../../card-io/errors.js';
import { connectHomeCard } from '../../card-io/home-card/connect.js';
import { parseSignedCancelRequest } from '../../card-io/home-card/cancel-request.js';
import { parseSignedRecord, verifySignedRecord } from '../../card-io/home-card/decision-record.js';
import { parseLoadReceipt } from '../../card-io/home-card/load-receipt.js';
import { encodeCancelAuthorization, signAuthorization } from '../../card-io/home-card/purse-authorizations.js';
import { loadOrCreateIssuerPki } from '../../deploy/sandbox/issuer-pki.js';
import { startSandboxIssuer } from '../../deploy/sandbox/issuer/index.js';
import { loadOrCreateMarketPki, type MarketPki } from '../../deploy/sandbox/market-pki.js';
import { dnsNamesOf, startSandboxMarket } from '../../deploy/sandbox/market/index.js';
import { httpsJson, PeerError } from '../../gateway/emoney/https-json.js';
import { loadOrCreateCa } from '../../provisioning/ca-store.js';
import { derToPem } from '../../provisioning/pki/index.js';
import { refusalOf, DEMO_PINS, SANDBOX_MARKET, readMailUntil, recordingPins, startPurseHousehold, type PurseHousehold } from '../helpers/household/index.js';

interface HistoryRow {
  kind: string;
  seq: number;
  orderId?: string;
  amount: number;
  status?: string;
  signedRecord?: string;
}

interface Decision {
  record: { seq: number; orderId: string; amount: number; currency: string; market: string; status: string };
}

function pemKey(k: { export(o: { type: 'pkcs8'; format: 'pem' }): string | Buffer }): string {
  return k.export({ type: 'pkcs8', format: 'pem' }).toString();
}

function readBody(req: import('node:http').IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function listen(t: ExecutionContext, server: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return (server.address() as AddressInfo).port;
}

/**
 * Answers for the market's host with the market's own TLS certificate and key,
 * but cannot sign as the market: every cancel authorization it hands out has
 * the right fields and a signature by `signer.key` with `signer.certificate`.
 */
async function startRogueMarket(
  t: ExecutionContext,
  h: PurseHousehold,
  marketPki: MarketPki,
  signer: { certificate: Buffer; key: import('node:crypto').KeyObject },
) {
  const seen: string[] = [];
  const server = createServer({ cert: derToPem(marketPki.serverCertificate), key: pemKey(marketPki.serverKey), minVersion: 'TLSv1.3' }, (req, res) => {
    void (async () => {
      seen.push(`${req.method} ${req.url}`);
      const m = /^\/payment-api\/orders\/([^/]+)\/cancel$/.exec(req.url ?? '');
      const order = m ? h.sandbox.market.orders.get(decodeURIComponent(m[1]!)) : undefined;
      res.setHeader('content-type', 'application/json');
      if (!order || req.method !== 'POST') {
        res.statusCode = 404;
        return res.end(JSON.stringify({ error: { code: 'order-unknown', message: 'no' } }));
      }
      const { cancelRequest } = JSON.parse(await readBody(req)) as { cancelRequest: string };
      const { cardId, seq } = parseSignedCancelRequest(Buffer.from(cancelRequest, 'base64'));
      const authorization = encodeCancelAuthorization({ cardId, seq, orderId: order.orderId, amount: order.amount, currency: order.currency });
      res.end(
        JSON.stringify({
          authorization: authorization.toString('base64'),
          signature: signAuthorization(authorization, signer.key).toString('base64'),
          certificate: signer.certificate.toString('base64'),
        }),
      );
    })();
  });
  return { port: await listen(t, server), seen };
}

/** Point the registered market "sandbox" somewhere else (the in-process gateway's registry). */
async function pointMarketAt(h: PurseHousehold, port: number): Promise<void> {
  const registry = h.inProcess!.registry;
  await registry.removeMarket(SANDBOX_MARKET);
  await registry.addMarket({ name: SANDBOX_MARKET, url: `https://localhost:${port}`, anchorPem: h.marketCaPem });
}

test.serial(
  'Refused payments, cancels and top-ups change nothing on the card, in the archive, at the market, at the issuer or in the mailbox; forged and ' +
    'replayed authorizations reach the card and are refused there',
  async (t) => {
    const h = await startPurseHousehold(t);
    const access = await h.accessCard(recordingPins());
    const marketPki = await loadOrCreateMarketPki(join(h.dataDir, 'sandbox', 'market'));
    const seen = new Set<string>();

    // The issuer behind a recording proxy on its own port, so a later top-up can be answered with an earlier authorization.
    const issuerCa = await loadOrCreateCa(join(h.dataDir, 'pki'), 'issuer-ca', 'CN=homegate sandbox issuer CA,O=homegate sandbox');
    const issuerPki = await loadOrCreateIssuerPki(join(h.dataDir, 'sandbox', 'issuer'), issuerCa);
    const issuer = await startSandboxIssuer({
      port: 0,
      serverCert: issuerPki.serverCertificate,
      serverKey: issuerPki.serverKey,
      clientCa: issuerCa.certificate,
      loadKey: issuerPki.loadKey,
      accounts: [{ household: h.issuerHousehold, cards: [h.cardId], balance: 1_000_000, currency: 'EUR' }],
    });
    t.teardown(() => issuer.stop());
    await h.sandbox.issuer.stop();
    const [credentialPem, credentialKey] = await Promise.all([
      readFile(join(h.dataDir, 'pki', 'issuer-credential.pem')),
      readFile(join(h.dataDir, 'pki', 'issuer-credential.key')),
    ]);
    const issued: Array<Record<string, unknown>> = [];
    const proxy = { replay: false, requests: 0 };
    const issuerProxy = createServer(
      {
        cert: derToPem(issuerPki.serverCertificate),
        key: pemKey(issuerPki.serverKey),
        ca: derToPem(issuerCa.certificate),
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: 'TLSv1.3',
      },
      (req, res) => {
        void (async () => {
          if (req.method === 'POST' && req.url === '/v1/loads') proxy.requests++;
          const text = await readBody(req);
          const body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
          const isLoad = req.method === 'POST' && req.url === '/v1/loads';
          let answer = issued[0];
          res.setHeader('content-type', 'application/json');
          if (!proxy.replay || !isLoad) {
            // Reservations, commits and voids go to the issuer as they are; only new loads are recorded (and replayed).
            try {
              answer = await httpsJson({
                url: `${issuer.url}${req.url ?? ''}`,
                method: req.method === 'GET' ? 'GET' : 'POST',
                ...(body ? { body } : {}),
                ca: derToPem(issuerCa.certificate),
                cert: credentialPem,
                key: credentialKey,
              });
            } catch (e) {
              if (!(e instanceof PeerError)) throw e;
              res.statusCode = e.status ?? 502;
              res.end(JSON.stringify({ error: { code: e.peerCode, message: e.message } }));
              return;
            }
            if (isLoad) issued.push(answer!);
          }
          res.end(JSON.stringify(answer));
        })();
      },
    );
    await listen(t, issuerProxy, h.ports.issuer);

    // ---- what the refusals must leave alone: a cancelled decision A, a paid decision B, one load
    const orderA = await h.createOrder(access, 'coffee-250g');
    const paidA = (await access.pay(SANDBOX_MARKET, orderA.orderId)) as unknown as Decision;
    await access.cancel(paidA.record.seq);
    const orderB = await h.createOrder(access, 'tea-100g');
    const paidB = (await access.pay(SANDBOX_MARKET, orderB.orderId)) as unknown as Decision;
    const loaded = (await access.topup(1500)) as { load: { counter: number } };
    const expected = [
      `${h.cardId}:decision:${paidA.record.seq}`,
      `${h.cardId}:cancel:${paidA.record.seq}`,
      `${h.cardId}:decision:${paidB.record.seq}`,
      `${h.cardId}:topup:${loaded.load.counter}`,
    ];
    const setupMail = await readMailUntil({ url: h.mqttUrl, terminalId: h.terminalId, seen, want: expected });
    t.deepEqual([...seen].sort(), [...expected].sort(), 'the setup mailed exactly its four events');
    t.is(setupMail.duplicates, 0);

    // ---- paying at another market: the record names the market the card verified
    t.is(
      paidB.record.market,
      dnsNamesOf(new X509Certificate(marketPki.serverCertificate))[0],
      'DF51 is the first dNSName of the market leaf the card verified',
    );
    const history0 = ((await access.history()) as { entries: HistoryRow[] }).entries;
    const recordB = Buffer.from(history0.find((e) => e.kind === 'decision' && e.seq === paidB.record.seq)!.signedRecord!, 'base64');
    t.true(verifySignedRecord(parseSignedRecord(recordB), h.cardPublicKey));
    const otherPki = await loadOrCreateMarketPki(join(h.dataDir, 'market-b'), { dnsNames: ['market-b.example', 'localhost'] });
    const other = await startSandboxMarket({
      port: 0,
      serverCert: otherPki.serverCertificate,
      serverKey: otherPki.serverKey,
      clientCa: issuerCa.certificate,
      signer: { certificate: otherPki.signingCertificate, privateKey: otherPki.signingKey },
    });
    t.teardown(() => other.stop());
    const elsewhere = await httpsJson({
      url: `https://127.0.0.1:${other.port}/payment-api/payments`,
      method: 'POST',
      body: { signedRecord: recordB.toString('base64'), cardCertificate: h.cardCertificate.toString('base64') },
      ca: derToPem(otherPki.caCertificate),
      servername: 'localhost',
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.true(
      elsewhere instanceof PeerError && elsewhere.status === 422 && elsewhere.peerCode === 'record-mismatch',
      `market B refuses a record for ${paidB.record.market}: ${String(elsewhere)}`,
    );

    // ---- the state every refusal must leave as it is
    const purse0 = (await access.balance()) as { balance: number; counter: number; perPaymentLimit: number; spentToday: number };
    const account0 = issuer.account(h.issuerHousehold)!;
    const unchanged = async (what: string) => {
      const purse = (await access.balance()) as typeof purse0;
      t.deepEqual(
        { balance: purse.balance, counter: purse.counter, spentToday: purse.spentToday },
        { balance: purse0.balance, counter: purse0.counter, spentToday: purse0.spentToday },
        `${what}: the card's purse is unchanged`,
      );
      t.deepEqual(((await access.history()) as { entries: HistoryRow[] }).entries, history0, `${what}: the archive is unchanged`);
      t.is((await h.marketOrder(orderA.orderId)).status, 'cancelled', `${what}: order A is still cancelled`);
      t.is((await h.marketOrder(orderB.orderId)).status, 'paid', `${what}: order B is still paid`);
      t.deepEqual(issuer.account(h.issuerHousehold), account0, `${what}: the issuer account is unchanged`);
    };

    // Insufficient funds: an order above the balance but within the per-payment limit (a quantity of mugs).
    const quantity = Math.floor(purse0.balance / 1250) + 1;
    t.true(quantity * 1250 <= purse0.perPaymentLimit, 'the order stays within the per-payment limit');
    const big = await h.createOrder(access, 'mug', quantity);
    t.like(await refusalOf(access.pay(SANDBOX_MARKET, big.orderId)), { status: 402, code: 'insufficient-funds' });
    t.is((await h.marketOrder(big.orderId)).status, 'open');
    await unchanged('insufficient funds');

    // Over the per-payment limit.
    const huge = await h.createOrder(access, 'mug', Math.floor(purse0.perPaymentLimit / 1250) + 1);
    t.like(await refusalOf(access.pay(SANDBOX_MARKET, huge.orderId)), { status: 409, code: 'limit-exceeded' });
    t.is((await h.marketOrder(huge.orderId)).status, 'open');
    await unchanged('over the per-payment limit');

    // A wrong PIN2: refused with the tries left.
    const small = await h.createOrder(access, 'tea-100g');
    const wrongPin2 = await h.accessCard(recordingPins([], '000000'));
    const wrong = await refusalOf(wrongPin2.pay(SANDBOX_MARKET, small.orderId));
    t.like(wrong, { status: 401, code: 'pin-wrong', pin: 'PIN2', triesLeft: 2 });
    t.is((await h.marketOrder(small.orderId)).status, 'open');
    await unchanged('wrong PIN2');

    // An unknown order.
    t.like(await refusalOf(access.pay(SANDBOX_MARKET, 'ord-000000000000000000000000')), { status: 404, code: 'order-unknown' });
    await unchanged('unknown order');

    // A second cancel of the same decision.
    t.like(await refusalOf(access.cancel(paidA.record.seq)), { status: 409, code: 'cancel-refused' });
    await unchanged('second cancel');

    // A forged cancel: the market's host answers, but the authorization is signed with another key.
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const rogue = await startRogueMarket(t, h, marketPki, { certificate: marketPki.signingCertificate, key: stranger });
    await pointMarketAt(h, rogue.port);
    const forged = await refusalOf(access.cancel(paidB.record.seq));
    t.deepEqual(rogue.seen, [`POST /payment-api/orders/${orderB.orderId}/cancel`], 'the gateway fetched the forged authorization');
    t.is(forged.code, 'market-untrusted', `the card refused the signature: ${JSON.stringify(forged)}`);
    t.regex(String(forged.message), /bad-signature/);
    // ... or signed by a key whose certificate comes from a CA that is not on the card (another name, another key).
    await loadOrCreateCa(join(h.dataDir, 'foreign-market'), 'market-ca', 'CN=foreign market CA, O=elsewhere');
    const foreignPki = await loadOrCreateMarketPki(join(h.dataDir, 'foreign-market'));
    const foreignRogue = await startRogueMarket(t, h, marketPki, { certificate: foreignPki.signingCertificate, key: foreignPki.signingKey });
    await pointMarketAt(h, foreignRogue.port);
    const foreign = await refusalOf(access.cancel(paidB.record.seq));
    t.is(foreignRogue.seen.length, 1);
    t.is(foreign.code, 'market-untrusted', `the card refused the signing certificate: ${JSON.stringify(foreign)}`);
    t.regex(String(foreign.message), /untrusted/);
    await pointMarketAt(h, h.ports.market);
    await unchanged('forged cancel');

    // A replayed load authorization: the issuer's earlier answer, byte for byte, for a new top-up.
    t.is(proxy.requests, 1);
    proxy.replay = true;
    const replayed = await refusalOf(access.topup(1500));
    t.is(proxy.requests, 2, 'the gateway asked the issuer (proxy) and received the earlier authorization');
    t.is(replayed.status, 409, `the card refused the replayed authorization: ${JSON.stringify(replayed)}`);
    t.log(`replayed load authorization refused: ${replayed.status} ${replayed.code}`);
    await unchanged('replayed load authorization');

    // Nothing of the above was mailed.
    const after = await readMailUntil({ url: h.mqttUrl, terminalId: h.terminalId, seen, want: [], idleMs: 1500 });
    t.deepEqual(
      after.messages.map((m) => m.id),
      [],
      'no notification for a refused operation',
    );

    // ---- the card itself, on the same emulator, with the gateway stopped
    await h.inProcess!.stop();
    const before = await h.readCard();
    const conn = await connectHomeCard({ device: h.cardDevice, openTimeoutMs: 10_000 });
    try {
      const card = conn.card;
      await card.select();
      await card.verifyPin1(DEMO_PINS.pin1);
      const codeOf = (p: Promise<unknown>) =>
        p.then(
          () => 'accepted',
          (e: unknown) => (isCardError(e) ? e.code : `not a card error: ${String(e)}`),
        );
      // The market's genuine authorization for A, once more: the card refuses the second cancel (6985).
      const genuineA = h.sandbox.market.orders.get(orderA.orderId)!.cancellation!;
      t.is(
        await codeOf(card.cancel({ authorization: genuineA.authorization, signature: genuineA.signature, certificate: genuineA.certificate })),
        CardErrorCode.ConditionsNotSatisfied,
      );
      // A cancel for B signed by a stranger with the market's signing certificate (6300 02).
      const authB = encodeCancelAuthorization({
        cardId: h.cardId,
        seq: paidB.record.seq,
        orderId: orderB.orderId,
        amount: paidB.record.amount,
        currency: 'EUR',
      });
      t.is(
        await codeOf(card.cancel({ authorization: authB, signature: signAuthorization(authB, stranger), certificate: marketPki.signingCertificate })),
        CardErrorCode.CertificateRejected,
      );
      // The earlier load authorization against a fresh challenge (6A80), and without any challenge (6985).
      const first = issued[0]!;
      const replay = { authorization: Buffer.from(String(first.authorization), 'base64'), signature: Buffer.from(String(first.signature), 'base64') };
      await card.loadChallenge();
      t.is(await codeOf(card.load(replay)), CardErrorCode.WrongData);
      t.is(await codeOf(card.load(replay)), CardErrorCode.ConditionsNotSatisfied, 'the failed LOAD used the challenge up');
      // The load receipt of the original top-up names the challenge the replayed authorization is bound to.
      const receipt = parseLoadReceipt(Buffer.from(history0.find((e) => e.kind === 'load')!.signedRecord!, 'base64'));
      t.true(replay.authorization.includes(receipt.challenge), 'the replayed authorization is the one the earlier load used');
    } finally {
      await conn.close();
    }
    const afterCard = await h.readCard();
    t.deepEqual(afterCard.status, before.status, 'the card-level refusals changed nothing');
    t.deepEqual(
      afterCard.log.map((r) => r.bytes.toString('hex')),
      before.log.map((r) => r.bytes.toString('hex')),
    );
    t.is(Number(afterCard.status.balance), purse0.balance);
  },
);
