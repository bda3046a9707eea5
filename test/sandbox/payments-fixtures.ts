/**
 * Fixtures for the market payment API and the issuer tests: signed decision
 * records built by hand exactly as PROTOCOL.md "Records" lays them out (the
 * card's key is a local key certified by the issuer CA, as `certifyCardKey`
 * does at personalization), and JSON over HTTPS with or without a client
 * certificate.
 */
import { sign, type KeyObject } from 'node:crypto';
import https from 'node:https';
import { encodeTlv, encodeTlvs } from '../../card-io/apdu/tlv.js';
import { PurseTag, encodeAmount, encodeCardId, encodeCurrency, encodeOrderId, encodeSeq } from '../../card-io/home-card/purse-encoding.js';

export interface RecordFields {
  seq: number;
  cardId: string;
  market: string;
  orderId: string;
  amount: number;
  currency: string;
  /** Unix seconds. */
  time: number;
  status: 'paid' | 'cancelled';
}

/** The record bytes: DF50 seq, DF57 card id, DF51 market, DF52 order id, DF53 amount, DF54 currency, DF55 time, DF56 status. */
export function encodeRecord(r: RecordFields): Buffer {
  const time = Buffer.alloc(8);
  time.writeBigUInt64BE(BigInt(r.time));
  return encodeTlvs([
    [PurseTag.Seq, encodeSeq(r.seq)],
    [PurseTag.CardId, encodeCardId(r.cardId)],
    [PurseTag.Market, Buffer.from(r.market, 'utf8')],
    [PurseTag.OrderId, encodeOrderId(r.orderId)],
    [PurseTag.Amount, encodeAmount(r.amount, 'amount', 1n)],
    [PurseTag.Currency, encodeCurrency(r.currency)],
    [PurseTag.Time, time],
    [PurseTag.Status, Buffer.from([r.status === 'paid' ? 0x01 : 0x02])],
  ]);
}

/** `E1 { record } ‖ DF5E { DER ECDSA by cardKey over SHA-256(record) }`. */
export function signRecord(recordBytes: Buffer, cardKey: KeyObject): Buffer {
  const signature = sign('sha256', recordBytes, { key: cardKey, dsaEncoding: 'der' });
  return Buffer.concat([encodeTlv(PurseTag.SignedRecord, recordBytes), encodeTlv(PurseTag.Signature, signature)]);
}

export interface JsonAnswer {
  status: number;
  body: Record<string, unknown>;
}

export interface HttpsJsonRequest {
  port: number;
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  /** The CA (PEM) the server is verified against. */
  caPem: string;
  /** Client certificate (PEM) and key; none when omitted. */
  client?: { certPem: string; keyPem: string };
}

/** One request on a fresh connection (agent false), to 127.0.0.1 with SNI `localhost`. */
export function httpsJson(r: HttpsJsonRequest, timeoutMs = 5000): Promise<JsonAnswer> {
  const payload = r.body === undefined ? undefined : JSON.stringify(r.body);
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1',
      port: r.port,
      servername: 'localhost',
      method: r.method,
      path: r.path,
      ca: r.caPem,
      minVersion: 'TLSv1.3',
      agent: false,
      ...(r.client ? { cert: r.client.certPem, key: r.client.keyPem } : {}),
      headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${r.method} ${r.path} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> });
        } catch {
          reject(new Error(`${r.method} ${r.path}: ${res.statusCode} with a body that is not JSON: ${text.slice(0, 200)}`));
        }
      });
    });
    req.end(payload);
  });
}

/** The error code of a typed JSON error answer. */
export function codeOf(a: JsonAnswer): string | undefined {
  return (a.body.error as { code?: string } | undefined)?.code;
}

/** `E3 { DF57 DF50 DF51 DF52 DF53 DF54 } ‖ DF5E { DER ECDSA by cardKey over SHA-256(value of E3) }`, as SIGN CANCEL REQUEST answers. */
export function signCancelRequest(r: Omit<RecordFields, 'time' | 'status'>, cardKey: KeyObject): Buffer {
  const body = encodeTlvs([
    [PurseTag.CardId, encodeCardId(r.cardId)],
    [PurseTag.Seq, encodeSeq(r.seq)],
    [PurseTag.Market, Buffer.from(r.market, 'utf8')],
    [PurseTag.OrderId, encodeOrderId(r.orderId)],
    [PurseTag.Amount, encodeAmount(r.amount, 'amount', 1n)],
    [PurseTag.Currency, encodeCurrency(r.currency)],
  ]);
  const signature = sign('sha256', body, { key: cardKey, dsaEncoding: 'der' });
  return Buffer.concat([encodeTlv(PurseTag.CancelRequest, body), encodeTlv(PurseTag.Signature, signature)]);
}
