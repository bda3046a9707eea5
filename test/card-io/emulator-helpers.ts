/**
 * Helpers for the emulator tests: APDU bytes, a card wrapper that keeps every
 * response (to search them for key material), the admin handshake, and a full
 * personalization run with real certificates from provisioning/pki.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { commandApdu, encodeCommandApdu } from '../../card-io/apdu/command-apdu.js';
import { parseResponseApdu } from '../../card-io/apdu/response-apdu.js';
import { createHomeCardApplet, type HomeCardApplet } from '../../card-io/emulator/applet.js';
import type { CardStore } from '../../card-io/emulator/card-store.js';
import { certifyCardKey, createRootCa, generateP256KeyPair, type IssuingCa } from '../../provisioning/pki/index.js';

export const AID = Buffer.from('F0484F4D454741544501', 'hex');

export function apdu(cla: number, ins: number, p1: number, p2: number, data: Uint8Array = Buffer.alloc(0), ne = 0): Buffer {
  return encodeCommandApdu(commandApdu(cla, ins, p1, p2, data, ne));
}

export function pinBlock(digits: string): Buffer {
  const b = Buffer.alloc(8, 0xff);
  b.write(digits, 'ascii');
  return b;
}

export function time8(seconds: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(seconds));
  return b;
}

export interface Answer {
  sw: number;
  data: Buffer;
}

/** An applet plus a log of every raw response it gave. */
export class TestCard {
  readonly responses: Buffer[] = [];
  readonly applet: HomeCardApplet;

  constructor(readonly store: CardStore) {
    this.applet = createHomeCardApplet({ store });
  }

  async raw(bytes: Buffer): Promise<Buffer> {
    const r = await this.applet.process(bytes);
    this.responses.push(r);
    return r;
  }

  async send(cla: number, ins: number, p1: number, p2: number, data?: Uint8Array, ne = 0): Promise<Answer> {
    const r = parseResponseApdu(await this.raw(apdu(cla, ins, p1, p2, data, ne)));
    return { sw: r.sw, data: Buffer.from(r.data) };
  }

  select(): Promise<Answer> {
    return this.send(0x00, 0xa4, 0x04, 0x00, AID, 256);
  }

  getData(tag: number): Promise<Answer> {
    return this.send(0x00, 0xca, tag >> 8, tag & 0xff, undefined, 256);
  }

  putData(tag: number, value: Uint8Array): Promise<Answer> {
    return this.send(0x00, 0xda, tag >> 8, tag & 0xff, value);
  }

  verifyPin(p2: 0x81 | 0x82, digits?: string): Promise<Answer> {
    return this.send(0x00, 0x20, 0x00, p2, digits === undefined ? undefined : pinBlock(digits));
  }

  /** The mutual admin handshake; `key` may be wrong on purpose. */
  async adminAuth(key: Buffer): Promise<Answer & { cardOk: boolean }> {
    const challenge = await this.send(0x00, 0x84, 0x00, 0x00, undefined, 16);
    const rc = challenge.data;
    const rh = randomBytes(16);
    const host = createHmac('sha256', key).update('HG-ADMIN-HOST').update(rc).update(rh).digest();
    const a = await this.send(0x00, 0x82, 0x00, 0x01, Buffer.concat([rh, host]));
    const expected = createHmac('sha256', key).update('HG-ADMIN-CARD').update(rh).update(rc).digest();
    return { ...a, cardOk: a.data.equals(expected) };
  }

  async counters(): Promise<number[]> {
    return [...(await this.getData(0xdf03)).data];
  }
}

export async function makeIssuer(subject = 'CN=Sandbox Card Issuer, O=homegate test'): Promise<IssuingCa> {
  const { privateKey } = generateP256KeyPair();
  return { privateKey, certificate: await createRootCa({ subject, privateKey }) };
}

export interface Personalization {
  publicKey: Buffer;
  cardCertificate: Buffer;
  pins: { pin1: string; pin2: string; puk: string };
}

/** Run the full personalization; every step must answer 9000. */
export async function personalize(
  card: TestCard,
  adminKey: Buffer,
  issuer: IssuingCa,
  anchors: Uint8Array[],
  pins = { pin1: '1234', pin2: '567890', puk: '12345678' },
): Promise<Personalization> {
  const must = <T extends Answer>(a: T, what: string): T => {
    if (a.sw !== 0x9000) throw new Error(`${what} answered ${a.sw.toString(16)}`);
    return a;
  };
  must(await card.select(), 'SELECT');
  const auth = must(await card.adminAuth(adminKey), 'EXTERNAL AUTHENTICATE');
  if (!auth.cardOk) throw new Error('card cryptogram wrong');
  const publicKey = must(await card.send(0x00, 0x47, 0x80, 0x00, undefined, 256), 'GENERATE').data;
  const cardCertificate = await certifyCardKey({ subject: 'CN=Home card 1, O=homegate test', cardPublicKey: publicKey, issuer });
  must(await card.putData(0x7f21, cardCertificate), 'PUT DATA 7F21');
  must(await card.putData(0xdf11, pinBlock(pins.pin1)), 'PUT DATA DF11');
  must(await card.putData(0xdf12, pinBlock(pins.pin2)), 'PUT DATA DF12');
  must(await card.putData(0xdf13, pinBlock(pins.puk)), 'PUT DATA DF13');
  for (const a of anchors) must(await card.putData(0xdf20, a), 'PUT DATA DF20');
  must(await card.send(0x00, 0x44, 0x00, 0x00), 'ACTIVATE');
  return { publicKey, cardCertificate, pins };
}
