/**
 * `homegate terminal balance|topup|pay|cancel|history|mail`: the purse from
 * a terminal (claims 4, 5, 6). Amounts are minor units (cents).
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { AccessCard, OrderQuote, PendingConfirmationNotice } from '../../card-io/access-card/access-card.js';
import { SeenMailJournal } from './seen-mail-journal.js';

type Open = (flags: { profile?: string }) => Promise<{ access: AccessCard; done: () => void; profileDir: string }>;

const amountArg = (v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive amount in minor units (cents)');
  return n;
};

function out(json: boolean | undefined, value: unknown, text: string): void {
  process.stdout.write(json ? JSON.stringify(value) + '\n' : text + '\n');
}

const money = (n: unknown, c: unknown) => `${(Number(n) / 100).toFixed(2)} ${String(c ?? '')}`.trim();

/** On stderr (stdout stays the result): the gateway waits for a press on its confirm button before it goes on. */
function waitingNotice(json: boolean | undefined): (p: PendingConfirmationNotice) => void {
  return (p) =>
    process.stderr.write(
      json
        ? `${JSON.stringify({ waitingForConfirmation: p })}\n`
        : `waiting for the confirm button on the gateway: ${p.kind === 'pay' ? 'payment' : 'top-up'} of ${money(p.amount, p.currency)}; ` +
            `press it briefly to confirm, hold it to refuse (until ${new Date(p.expiresAt).toLocaleTimeString()})\n`,
    );
}

export function registerPurseCommands(terminal: Command, open: Open): void {
  const common = (c: Command) =>
    c.option('--profile <name>', 'terminal profile (default: the only one, or "demo")').option('--json', 'machine-readable output');
  const run =
    (fn: (a: AccessCard, flags: { json?: boolean; profile?: string }, profileDir: string) => Promise<void>) =>
    async (flags: { json?: boolean; profile?: string }) => {
      const { access, done, profileDir } = await open(flags);
      try {
        await fn(access, flags, profileDir);
      } finally {
        done();
      }
    };

  common(terminal.command('balance').description('the purse balance on the home card')).action(
    run(async (a, f) => {
      const b = await a.balance();
      out(
        f.json,
        b,
        `balance ${money(b.balance, b.currency)} (spent today ${money(b.spentToday, b.currency)}, limits ` +
          `${money(b.perPaymentLimit, b.currency)} per payment, ${money(b.dailyLimit, b.currency)} per day)`,
      );
    }),
  );

  common(
    terminal
      .command('topup')
      .description("load money onto the purse from the household's issuer account")
      .argument('<amount>', 'minor units (cents)', amountArg),
  ).action(async (amount: number, flags: { json?: boolean; profile?: string }) =>
    run(async (a, f) => {
      const r = (await a.topup(amount, waitingNotice(f.json))) as { load: { newBalance: number; currency: string } };
      out(f.json, r, `loaded ${money(amount, r.load.currency)}; balance ${money(r.load.newBalance, r.load.currency)}`);
    })(flags),
  );

  common(terminal.command('pay').description('pay an order created at the market (PIN2)').argument('<market>').argument('<order-id>')).action(
    async (market: string, orderId: string, flags: { json?: boolean; profile?: string }) =>
      run(async (a, f) => {
        // The person sees what they are about to agree to before the PIN2 prompt (stderr: stdout stays the result).
        let quote: OrderQuote | undefined;
        const show = (q: OrderQuote) => {
          quote = q;
          process.stderr.write(
            `${f.json ? JSON.stringify({ quote: q }) : `order ${q.orderId} at ${q.market} (${q.marketHost}): ${money(q.amount, q.currency)}`}\n`,
          );
        };
        const r = (await a.pay(market, orderId, show, waitingNotice(f.json))) as {
          record: { seq: number; amount: number; currency: string };
          presented: boolean;
          alreadyPaid?: boolean;
          marketRefused?: string;
        };
        const how = r.marketRefused
          ? `, REFUSED by the market (${r.marketRefused}); cancel it to get the money back`
          : r.presented
            ? ', accepted by the market'
            : ', the market will be told as soon as it answers';
        out(
          f.json,
          { ...r, quote },
          `${r.alreadyPaid ? 'already paid' : 'paid'} ${money(r.record.amount, r.record.currency)} for ${orderId}: decision ${r.record.seq}${how}`,
        );
      })(flags),
  );

  common(
    terminal
      .command('cancel')
      .description('cancel a payment decision; the market must authorize it')
      .argument('<decision-seq>', 'the decision number', (v) => amountArg(v)),
  ).action(async (seq: number, flags: { json?: boolean; profile?: string }) =>
    run(async (a, f) => {
      const r = (await a.cancel(seq)) as { record: { amount: number; currency: string } };
      out(f.json, r, `decision ${seq} cancelled; ${money(r.record.amount, r.record.currency)} back in the purse`);
    })(flags),
  );

  common(terminal.command('history').description("this terminal's decisions, cancels and loads, newest first")).action(
    run(async (a, f) => {
      const r = (await a.history()) as {
        entries: Array<{ kind: string; seq: number; time: string; amount: number; currency: string; orderId?: string; status?: string }>;
      };
      out(
        f.json,
        r,
        r.entries
          .map(
            (e) =>
              `${e.time}  ${e.kind.padEnd(8)} #${e.seq}  ` +
              `${money(e.amount, e.currency)}${e.orderId ? '  order ' + e.orderId : ''}${e.status ? '  ' + e.status : ''}`,
          )
          .join('\n') || '(no history)',
      );
    }),
  );

  common(
    terminal
      .command('mail')
      .description("read this terminal's mailbox (MQTT persistent session)")
      .option('--idle-ms <ms>', 'stop after this long without a message', (v) => Number(v), 1500),
  ).action(async (flags: { json?: boolean; profile?: string; idleMs: number }) =>
    run(async (a, f, profileDir) => {
      const who = (await a.gateway.get('/v1/whoami')) as { terminal: { id: string }; mailbox?: { url: string; topicPrefix: string } };
      if (!who.mailbox) throw new InvalidArgumentError('the gateway publishes no MQTT mail');
      // What this terminal has shown before (a record log in its profile): delivery is at-least-once.
      const journal = await SeenMailJournal.open(profileDir);
      const seen = new Set(journal.ids);
      const { readMailbox } = await import('../../card-io/access-card/mailbox.js');
      // The terminal's own broker login and the card certificate pinned at enrollment (terminal-profile.ts).
      const { broker, cardCertificatePem } = a.profile;
      const r = await readMailbox({
        url: who.mailbox.url,
        topicPrefix: who.mailbox.topicPrefix,
        terminalId: who.terminal.id,
        idleMs: flags.idleMs,
        seen,
        cardCertificate: cardCertificatePem ?? '',
        ca: a.profile.householdCaPem, // an mqtts broker with a household-CA certificate
        // A broker that requires client certificates gets the terminal's own (household CA); only sent over TLS.
        ...(/^(mqtts|wss):/.test(who.mailbox.url) ? { cert: a.profile.certificatePem, key: a.profile.keyPem } : {}),
        ...(broker ?? {}),
      });
      if (r.rejected > 0) process.stderr.write(`ignored ${r.rejected} message(s) the home card did not sign as shown\n`);
      await journal.record(r.messages.map((m) => m.id));
      out(
        f.json,
        r.messages.map((m) => m.notification),
        r.messages.map((m) => `${String(m.notification.time)}  ${m.type}  ${m.id}`).join('\n') || '(no new mail)',
      );
    })(flags),
  );
}
