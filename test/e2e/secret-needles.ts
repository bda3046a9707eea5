/**
 * What a secret looks like in a log line, for the no-secret-in-logs test:
 * each secret as the encodings it could be logged in (hex, also as spaced
 * dumps; base64 and base64url at every byte alignment; decimal PINs as
 * tokens), and a walk over log records that yields every string a log
 * line would carry.
 */
import { createPrivateKey, KeyObject } from 'node:crypto';

export interface Needle {
  /** What it is, for the failure message (never the secret itself). */
  what: string;
  /** Substrings to look for, in each string and in it with whitespace removed (spaced hex dumps). */
  texts: string[];
  /** A pattern to look for in each string as is (decimal PINs). */
  pattern?: RegExp;
}

/** Base64 and base64url of `bytes` as they appear inside the encoding of any longer buffer containing them. */
export function base64Inside(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let k = 0; k < 3; k++) {
    const padded = Buffer.concat([Buffer.alloc(k), bytes]);
    const whole = Math.floor(padded.length / 3) * 4; // characters that depend on full groups only
    for (const alphabet of ['base64', 'base64url'] as const) {
      const text = padded.toString(alphabet).slice(k === 0 ? 0 : 4, whole);
      if (text.length >= 8) out.push(text);
    }
  }
  return out;
}

/** Hex and base64 windows of `bytes`: any leak of about `window` * 2 contiguous bytes contains one. */
export function windows(bytes: Buffer, window: number, skip: (start: number, end: number) => boolean = () => false): string[] {
  const out: string[] = [];
  for (let i = 0; i + window <= bytes.length; i += window) {
    if (skip(i, i + window)) continue;
    out.push(bytes.subarray(i, i + window).toString('hex'));
    out.push(...base64Inside(bytes.subarray(i, i + window)));
  }
  return out;
}

export function pinNeedle(which: string, pin: string): Needle {
  const ascii = Buffer.from(pin, 'latin1');
  const block = Buffer.concat([ascii, Buffer.alloc(8 - ascii.length, 0xff)]); // the card's PIN block
  return {
    what: `${which} (a PIN)`,
    texts: [ascii.toString('hex'), block.toString('hex'), ...base64Inside(block), ...base64Inside(Buffer.from(`"${which.toLowerCase()}":"${pin}"`))],
    // As a token: not inside a longer run of letters or digits.
    pattern: new RegExp(`(?<![0-9A-Za-z])${pin}(?![0-9A-Za-z])`),
  };
}

/** A PKCS#8 PEM private key: its DER (hex, base64) and its private scalar. */
export function privateKeyNeedle(what: string, pem: string): Needle {
  const key = createPrivateKey(pem);
  const der = key.export({ type: 'pkcs8', format: 'der' });
  const d = Buffer.from(String(key.export({ format: 'jwk' }).d), 'base64url');
  return { what, texts: [der.toString('hex'), ...windows(der, 24), d.toString('hex'), ...base64Inside(d)] };
}

/** Any P-256 private key at all (the gateway's ephemeral keys are never seen outside it). */
export const ANY_PRIVATE_KEY: Needle = {
  what: 'a private key (PEM, or P-256 PKCS#8 / SEC1 DER)',
  texts: [
    'PRIVATE KEY',
    'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg', // PKCS#8 P-256 DER, base64
    '308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b0201010420',
    'MHcCAQEEI', // SEC1 P-256 DER, base64
    '30770201010420',
  ],
};

/**
 * Every string a log record carries: string values, Buffers as hex, base64
 * and latin1, errors' messages. Numbers are data (ports, durations), not
 * secrets. Stack traces are code locations and are left out. A private
 * KeyObject anywhere is reported as such.
 */
export function stringsOf(value: unknown, out: string[] = [], seen = new Set<object>()): string[] {
  if (typeof value === 'string') out.push(value);
  else if (value instanceof KeyObject) out.push(value.type === 'private' ? 'PRIVATE KEY OBJECT' : 'public key object');
  else if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    const b = Buffer.from(value);
    out.push(b.toString('hex'), b.toString('base64'), b.toString('latin1'));
  } else if (value instanceof Error) {
    out.push(value.message);
    stringsOf({ ...value, stack: undefined }, out, seen);
  } else if (typeof value === 'object' && value !== null && !seen.has(value)) {
    seen.add(value);
    for (const [k, v] of Object.entries(value)) if (k !== 'stack') stringsOf(v, out, seen);
  }
  return out;
}

/** The needles found in `strings`, with where. */
export function findSecrets(strings: string[], needles: Needle[]): string[] {
  const found: string[] = [];
  for (const s of strings) {
    const compact = s.replace(/\s+/g, '');
    for (const n of needles) {
      const hit = n.texts.some((x) => s.includes(x) || compact.includes(x)) || n.pattern?.test(s) === true;
      if (hit) found.push(`${n.what} in: ${s.length > 160 ? `${s.slice(0, 160)}…` : s}`);
    }
  }
  return found;
}
