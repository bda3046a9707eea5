/**
 * The household the money campaign runs against: the purse household of the
 * end-to-end tests (sandbox market, issuer and MQTT broker in this process,
 * the card emulator and the gateway as child processes that can be
 * SIGKILLed), with the gateway's card line going through a LineProxy so the
 * line can be cut between T=1 blocks, and read-outs of everything the
 * invariants look at, through public interfaces only:
 *
 * - the card: GET DATA purse status and READ RECORD, on the card line while
 *   no gateway holds it;
 * - the archive: the gateway's history files (the history API answers at
 *   most 100 entries, a campaign makes more), read while the gateway is down;
 * - the issuer: `GET /v1/account` with the household's credential;
 * - mail: the terminal's mailbox, one persistent MQTT session held open.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { httpsJson } from '../../gateway/emoney/https-json.js';
import { collectMail, startPurseHousehold, type CollectedMail, type PurseHousehold } from '../helpers/household/purse-household.js';
import { startLineProxy, type LineProxy } from './line-proxy.js';
import type { ArchivedEvent, CardDecision, MailSeen } from './money-invariants.js';

export interface ChaosHousehold {
  readonly h: PurseHousehold;
  readonly line: LineProxy;
  readonly mail: CollectedMail;
  /** Purse status and every decision in the card's log (no gateway may hold the line). */
  readCard(): Promise<{ balance: number; counter: number; decisions: CardDecision[] }>;
  /** The gateway's archive on disk (the gateway must be down). */
  readArchive(): Promise<ArchivedEvent[]>;
  issuerBalance(): Promise<number>;
  mailSeen(): MailSeen[];
  stop(): Promise<void>;
}

/**
 * startPurseHousehold registers its clean-up with an ava context; outside ava
 * (the `npm run chaos` runner) this stands in for it, running them on stop().
 */
function teardownContext(): { t: ExecutionContext; run: () => Promise<void> } {
  const fns: Array<() => unknown> = [];
  const t = { teardown: (fn: () => unknown) => void fns.push(fn) } as unknown as ExecutionContext;
  return {
    t,
    run: async () => {
      while (fns.length) await Promise.resolve(fns.pop()!()).catch(() => undefined);
    },
  };
}

export async function startChaosHousehold(o: { t?: ExecutionContext } = {}): Promise<ChaosHousehold> {
  const own = o.t ? undefined : teardownContext();
  const t = o.t ?? own!.t;
  const line = await startLineProxy();
  t.teardown(() => line.close());
  const h = await startPurseHousehold(t, {
    gatewayProcess: true,
    emulatorLogLevel: 'info',
    configure: (c) => {
      // The gateway reaches the card through the proxy; the card itself stays where the sandbox put it.
      line.target = Number(new URL(c.card.device).port);
      c.card.device = `tcp://127.0.0.1:${line.port}`;
      c.emoney.presentRetrySeconds = 1;
      c.emoney.householdMonthlyTopupLimit = 100_000_000;
      c.emoney.terminalMonthlyTopupLimit = 100_000_000;
    },
  });
  const mail = await collectMail({ url: h.mqttUrl, terminalId: h.terminalId });
  t.teardown(() => mail.stop());
  const pki = join(h.dataDir, 'pki');
  const [ca, cert, key] = await Promise.all(['issuer-ca.pem', 'issuer-credential.pem', 'issuer-credential.key'].map((f) => readFile(join(pki, f))));

  return {
    h,
    line,
    mail,
    async readCard() {
      const c = await h.readCard();
      const decisions = c.log.map((r) => ({ seq: r.seq, market: r.market, orderId: r.orderId, amount: Number(r.amount), status: r.status }));
      return { balance: Number(c.status.balance), counter: c.status.counter, decisions };
    },
    async readArchive() {
      return (await h.readArchive()).map(
        (e) => ({ kind: e.kind, seq: e.seq, amount: e.amount, market: e.market, orderId: e.orderId, status: e.status }) as ArchivedEvent,
      );
    },
    async issuerBalance() {
      const account = await httpsJson<{ balance: number }>({ url: `${h.sandbox.issuer.url}/v1/account`, method: 'GET', ca: ca!, cert: cert!, key: key! });
      return account.balance;
    },
    mailSeen() {
      return mail.all.map((m) => {
        const n = m.notification as { record?: { market?: string; orderId?: string }; load?: { counter?: number } };
        const about = m.type === 'topup' ? String(n.load?.counter) : `${n.record?.market ?? ''}|${n.record?.orderId ?? ''}`;
        return { id: m.id, type: m.type, about };
      });
    },
    stop: async () => {
      await own?.run();
    },
  };
}
