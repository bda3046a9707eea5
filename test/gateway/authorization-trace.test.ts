/**
 * The authorization trace (gateway/trace/authorization-trace.ts): the stages
 * a delegated handshake reports, against a real TLS 1.3 market with the
 * fake card signer, and that a reused session certificate and a refused
 * handshake are traced as what they are; and the card signature check that
 * the trace's certificate-check stage times.
 */
import test from 'ava';
import { generateKeyPairSync, sign } from 'node:crypto';
import { createProxyState, delegatedHandshake, isProxyError, ProxyErrorCode } from '../../gateway/proxy/index.js';
import { traced, type StageSample } from '../../gateway/trace/authorization-trace.js';
import { fakeSigner, makeProxyPki, newCa, startMarket, type ProxyPki } from '../helpers/proxy-fixtures.js';

const pkiReady: Promise<ProxyPki> = makeProxyPki();

async function market(pki: ProxyPki, clientCa = pki.issuerCa.certificate) {
  return startMarket({ identity: pki.market, clientCa, anchors: [pki.marketRoot.certificate] });
}

test('A traced delegated handshake reports each stage once, in the order an authorization passes them, with wall and CPU times', async (t) => {
  const pki = await pkiReady;
  const m = await market(pki);
  t.teardown(() => m.close());
  const samples: StageSample[] = [];
  await delegatedHandshake({ market: m.target(), signer: fakeSigner(pki), trace: (s) => samples.push(s) });
  t.deepEqual(
    samples.map((s) => s.stage),
    [
      'market-chain',
      'card-verify-chain',
      'key-generation',
      'certificate-build',
      'card-sign',
      'certificate-check',
      'tls-context',
      'market-handshake',
      'ticket-wait',
    ],
  );
  for (const s of samples) {
    t.true(Number.isFinite(s.wallMs) && s.wallMs >= 0, `${s.stage} wall time`);
    t.true(Number.isFinite(s.cpuMs) && s.cpuMs >= 0, `${s.stage} CPU time`);
  }
});

test('With a reused session certificate the trace holds only the market stages: no card, key, certificate or context work', async (t) => {
  const pki = await pkiReady;
  const m = await market(pki);
  t.teardown(() => m.close());
  const state = createProxyState();
  const signer = fakeSigner(pki);
  const options = { reuseSessionCertificate: true };
  await delegatedHandshake({ market: m.target(), signer, options, state });
  const samples: StageSample[] = [];
  const second = await delegatedHandshake({ market: m.target(), signer, options, state, trace: (s) => samples.push(s) });
  t.false(second.cardSigned);
  t.deepEqual(
    samples.map((s) => s.stage),
    ['market-chain', 'market-handshake', 'ticket-wait'],
  );
});

test('A handshake the market refuses is still traced: its stage is closed once, and the authorization fails', async (t) => {
  const pki = await pkiReady;
  const stranger = await newCa('CN=Some other issuer');
  const m = await market(pki, stranger.certificate);
  t.teardown(() => m.close());
  const samples: StageSample[] = [];
  await t.throwsAsync(delegatedHandshake({ market: m.target(), signer: fakeSigner(pki), trace: (s) => samples.push(s) }));
  const marketStages = samples.filter((s) => s.stage === 'market-handshake' || s.stage === 'ticket-wait').map((s) => s.stage);
  t.true(marketStages.length >= 1 && marketStages.length <= 2, JSON.stringify(marketStages));
  t.is(new Set(marketStages).size, marketStages.length, 'no stage reported twice');
});

test('Without a trace nothing is measured: traced() only runs the work', async (t) => {
  let runs = 0;
  t.is(await traced(undefined, 'answer', async () => ++runs), 1);
  const samples: StageSample[] = [];
  await t.throwsAsync(
    traced(
      (s) => samples.push(s),
      'answer',
      async () => Promise.reject(new Error('boom')),
    ),
  );
  t.deepEqual(
    samples.map((s) => s.stage),
    ['answer'],
    'a failing stage is reported too',
  );
});

test('A card signature that does not verify with the card certificate stops the authorization before any market connection', async (t) => {
  const pki = await pkiReady;
  const m = await market(pki);
  t.teardown(() => m.close());
  const honest = fakeSigner(pki);
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  // The card answers, but with a signature by another key than its certificate's.
  const forger = {
    cardCertificate: honest.cardCertificate,
    verifyMarketChain: (chain: Buffer[], at: Date) => honest.verifyMarketChain(chain, at),
    signSessionCertificate: async (tbs: Buffer) => sign('sha256', tbs, other),
  };
  const before = m.connections();
  const e = await t.throwsAsync(delegatedHandshake({ market: m.target(), signer: forger }));
  t.true(isProxyError(e) && e.code === ProxyErrorCode.Internal, String(e));
  t.is(m.connections() - before, 1, 'only the pre-flight that fetched the chain');
});
