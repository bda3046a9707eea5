/**
 * Reading a household terminal's mail in tests as the terminal does: with
 * its profile's broker login, verified against its pinned card certificate.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { mailboxClientId, readMailbox, type MailMessage } from '../../../card-io/access-card/mailbox.js';
import { loadTerminalProfile } from '../../../card-io/access-card/terminal-profile.js';

export const TOPIC_PREFIX = 'homegate';

export interface CollectedMail {
  /** Every message received on the terminal's mail topic, redeliveries included, in arrival order. */
  readonly all: MailMessage[];
  /** Distinct by notification id, first arrival kept. */
  distinct(): Map<string, MailMessage>;
  /** Resolves once `check` holds for the messages so far; rejects with `what` after `timeoutMs`. */
  until(check: (all: readonly MailMessage[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The terminal's mailbox held open: client id `homegate-mail-<terminalId>`,
 * clean session off, QoS 1 (as readMailbox, which must not run at the same
 * time: one client id, one connection). Reconnects every second.
 */
export async function collectMail(o: { url: string; terminalId: string; topicPrefix?: string }): Promise<CollectedMail> {
  const topic = `${o.topicPrefix ?? TOPIC_PREFIX}/terminals/${o.terminalId}/mail`;
  const all: MailMessage[] = [];
  const wakers = new Set<() => void>();
  const login = mailLogins.get(o.terminalId)?.broker ?? {};
  const client: MqttClient = mqtt.connect(o.url, {
    clientId: mailboxClientId(o.terminalId),
    clean: false,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    ...login,
  });
  client.on('error', () => undefined);
  client.on('message', (t, payload) => {
    if (t !== topic) return;
    try {
      const n = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
      all.push({ id: String(n.id), type: String(n.type), notification: n });
    } catch {
      all.push({ id: '(malformed)', type: '(malformed)', notification: {} });
    }
    for (const wake of wakers) wake();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no CONNACK from ${o.url}`)), 15_000);
    client.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  await client.subscribeAsync(topic, { qos: 1 });
  return {
    all,
    distinct() {
      const m = new Map<string, MailMessage>();
      for (const msg of all) if (!m.has(msg.id)) m.set(msg.id, msg);
      return m;
    },
    until(check, what, timeoutMs = 15_000) {
      if (check(all)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const wake = () => {
          if (!check(all)) return;
          clearTimeout(timer);
          wakers.delete(wake);
          resolve();
        };
        const timer = setTimeout(() => {
          wakers.delete(wake);
          reject(new Error(`${what}: not within ${timeoutMs} ms (received ${all.map((m) => m.id).join(', ') || 'nothing'})`));
        }, timeoutMs);
        wakers.add(wake);
      });
    },
    stop: () => client.endAsync().then(() => undefined),
  };
}

/**
 * What a household's terminal reads its mail with (its profile's broker login
 * and pinned card certificate), by terminal id, filled by startPurseHousehold
 * so the mail helpers log in as the terminal does.
 */
const mailLogins = new Map<string, { broker?: { username: string; password: string }; cardCertificate: string }>();

/** Makes a terminal enrolled during a test known to the mail helpers, from its profile. */
export async function registerMailLogin(terminalId: string, profileDir: string): Promise<void> {
  const loaded = await loadTerminalProfile(profileDir);
  mailLogins.set(terminalId, { ...(loaded.broker ? { broker: loaded.broker } : {}), cardCertificate: loaded.cardCertificatePem ?? '' });
}

export function mailLoginFor(terminalId: string): { username?: string; password?: string; cardCertificate: string } {
  const l = mailLogins.get(terminalId);
  if (!l) throw new Error(`no household profile for terminal ${terminalId}`);
  return { ...(l.broker ?? {}), cardCertificate: l.cardCertificate };
}

/**
 * readMailbox until `want` ids have all been read (ids of earlier reads are
 * in `seen`), or `timeoutMs` passed; returns everything read, all reads
 * together, with the duplicates counted.
 */
export async function readMailUntil(o: {
  url: string;
  terminalId: string;
  seen?: Set<string>;
  want: readonly string[];
  timeoutMs?: number;
  idleMs?: number;
}): Promise<{ messages: MailMessage[]; duplicates: number }> {
  const seen = o.seen ?? new Set<string>();
  const messages: MailMessage[] = [];
  let duplicates = 0;
  const deadline = Date.now() + (o.timeoutMs ?? 15_000);
  do {
    const r = await readMailbox({ url: o.url, terminalId: o.terminalId, seen, idleMs: o.idleMs ?? 1000, ...mailLoginFor(o.terminalId) });
    duplicates += r.duplicates;
    for (const m of r.messages) {
      seen.add(m.id);
      messages.push(m);
    }
  } while (!o.want.every((id) => seen.has(id)) && Date.now() < deadline);
  return { messages, duplicates };
}

// ---------------------------------------------------------------- household
