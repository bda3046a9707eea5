/**
 * Mail as the gateway sends it, signed by a stand-in home card: a P-256 key
 * pair, its certificate (what a terminal pins at enrollment), and decision
 * records / load receipts encoded and signed exactly as the emulator does
 * (card-io/emulator/purse-records.ts).
 */
import { randomBytes } from 'node:crypto';
import { encodeLoadReceipt, encodeSignedRecord, signRecord } from '../../card-io/emulator/purse-records.js';
import { RecordStatus } from '../../card-io/emulator/purse-state.js';
import { createNotification, type Notification } from '../../gateway/notify/notification.js';
import { createRootCa, generateP256KeyPair } from '../../provisioning/pki/index.js';

export interface SigningCard {
  cardId: string;
  /** The card certificate (DER), what the terminal pins. */
  certificate: Buffer;
  decision(seq: number, terminalId: string, over?: { amount?: number; market?: string; orderId?: string; status?: 'paid' | 'cancelled' }): Notification;
  cancel(seq: number, terminalId: string): Notification;
  topup(counter: number, terminalId: string, amount: number, newBalance: number): Notification;
}

const TIME = 1_740_823_200; // 2025-03-01T10:00:00Z, whole seconds as the card keeps them

export async function signingCard(cardId = 'fedcba9876543210'): Promise<SigningCard> {
  const { privateKey, publicKey } = generateP256KeyPair();
  const key = {
    privateKeyPkcs8: privateKey.export({ type: 'pkcs8', format: 'der' }),
    publicKeySpki: publicKey.export({ type: 'spki', format: 'der' }),
  };
  const certificate = await createRootCa({ subject: 'CN=home card', privateKey });
  const id = Buffer.from(cardId, 'hex');
  const record = (
    type: 'decision' | 'cancel',
    seq: number,
    terminalId: string,
    o: { amount?: number; market?: string; orderId?: string; status: 'paid' | 'cancelled' },
  ) => {
    const fields = {
      seq,
      market: o.market ?? 'shop.example',
      orderId: o.orderId ?? `o-${seq}`,
      amount: BigInt(o.amount ?? 500 + seq),
      currency: 'EUR',
      time: TIME,
      status: o.status === 'paid' ? RecordStatus.Paid : RecordStatus.Cancelled,
    };
    const signed = encodeSignedRecord(id, signRecord(key, id, fields));
    const shown = {
      seq,
      cardId,
      market: fields.market,
      orderId: fields.orderId,
      amount: Number(fields.amount),
      currency: 'EUR',
      time: new Date(TIME * 1000).toISOString(),
      status: o.status,
    };
    return createNotification({ type, cardId, seq, terminalId, mail: 'owner@home.example', record: shown, signedRecord: signed, cardCertificate: certificate });
  };
  return {
    cardId,
    certificate,
    decision: (seq, terminalId, over = {}) => record('decision', seq, terminalId, { status: 'paid', ...over }),
    cancel: (seq, terminalId) => record('cancel', seq, terminalId, { status: 'cancelled' }),
    topup(counter, terminalId, amount, newBalance) {
      const receipt = encodeLoadReceipt(key, {
        cardId: id,
        counter,
        amount: BigInt(amount),
        currency: 'EUR',
        challenge: randomBytes(16),
        balance: BigInt(newBalance),
      });
      const load = { cardId, counter, amount, currency: 'EUR', newBalance };
      return createNotification({
        type: 'topup',
        cardId,
        seq: counter,
        terminalId,
        mail: 'owner@home.example',
        time: '2025-03-01T11:00:00.000Z',
        load,
        balance: newBalance,
        signedRecord: receipt,
        cardCertificate: certificate,
      });
    },
  };
}
