/**
 * The gateway's pending pairing codes: single use, a 10-minute life, a code
 * burnt after repeated wrong proofs, and every attempt throttled while too
 * many failed; and the code's text form round-trips.
 */
import { createHash } from 'node:crypto';
import test from 'ava';
import { decodePairingCode, encodePairingCode, newPairingCode, pairingProof } from '../../gateway/pairing/pairing-code.js';
import { PairingError } from '../../gateway/pairing/pairing-error.js';
import { PendingCodes } from '../../gateway/pairing/pending-codes.js';

const fingerprint = createHash('sha256').update('a household root').digest();
const csr = Buffer.from('a certificate request');

function refusal(t: import('ava').ExecutionContext, fn: () => unknown): string | undefined {
  const e = t.throws(fn);
  return e instanceof PairingError ? e.code : undefined;
}

test('A pairing code round-trips through its text form, with and without the gateway URL', (t) => {
  for (const url of [undefined, 'https://homegate.local:8443']) {
    const code = newPairingCode(fingerprint, url);
    const back = decodePairingCode(encodePairingCode(code));
    t.deepEqual([back.id, back.secret, back.caFingerprint, back.gatewayUrl], [code.id, code.secret, code.caFingerprint, url]);
  }
  t.is(
    refusal(t, () => decodePairingCode('HG1.short')),
    'code-malformed',
  );
  t.is(
    refusal(t, () => decodePairingCode(`HG2.${encodePairingCode(newPairingCode(fingerprint)).slice(4)}`)),
    'code-malformed',
  );
});

test('A code pairs once with the right proof; used again it is refused', (t) => {
  const codes = new PendingCodes();
  const code = newPairingCode(fingerprint);
  codes.add(code, 'phone', 'a@example.org');
  t.like(codes.take(code.id, pairingProof(code, csr), csr), { name: 'phone', mail: 'a@example.org' });
  t.is(
    refusal(t, () => codes.take(code.id, pairingProof(code, csr), csr)),
    'pairing-refused',
  );
});

test('A code is refused once its 10 minutes are over', (t) => {
  let now = 1_000_000;
  const codes = new PendingCodes({ clock: () => now });
  const code = newPairingCode(fingerprint);
  codes.add(code, 'phone', 'a@example.org');
  now += 10 * 60_000;
  t.is(
    refusal(t, () => codes.take(code.id, pairingProof(code, csr), csr)),
    'pairing-refused',
  );
});

test('A proof for another CSR is refused: the proof binds the code to one request', (t) => {
  const codes = new PendingCodes();
  const code = newPairingCode(fingerprint);
  codes.add(code, 'phone', 'a@example.org');
  t.is(
    refusal(t, () => codes.take(code.id, pairingProof(code, Buffer.from('another request')), csr)),
    'pairing-refused',
  );
  t.is(codes.size, 1);
});

test('Three wrong proofs burn the code; the right proof after them is refused', (t) => {
  const codes = new PendingCodes();
  const code = newPairingCode(fingerprint);
  codes.add(code, 'phone', 'a@example.org');
  const wrong = { ...code, secret: Buffer.alloc(16) };
  for (let i = 0; i < 3; i++) refusal(t, () => codes.take(code.id, pairingProof(wrong, csr), csr));
  t.is(codes.size, 0);
  t.is(
    refusal(t, () => codes.take(code.id, pairingProof(code, csr), csr)),
    'pairing-refused',
  );
});

test('After 10 failed attempts within the window every attempt is throttled, a right one too, until the window passes', (t) => {
  let now = 5_000_000;
  const codes = new PendingCodes({ clock: () => now, ttlMs: 3_600_000 });
  const code = newPairingCode(fingerprint);
  codes.add(code, 'phone', 'a@example.org');
  for (let i = 0; i < 10; i++) {
    const stranger = newPairingCode(fingerprint);
    refusal(t, () => codes.take(stranger.id, pairingProof(stranger, csr), csr));
  }
  t.is(
    refusal(t, () => codes.take(code.id, pairingProof(code, csr), csr)),
    'pairing-throttled',
  );
  now += 10 * 60_000 + 1;
  t.like(codes.take(code.id, pairingProof(code, csr), csr), { name: 'phone' });
});
