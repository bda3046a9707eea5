/**
 * `socket` section of `npm run bench`: the card socket with the emulator as
 * its own process behind the virtual backend, on a pty pair (socat) when
 * there is one (PPS can change its speed), else a TCP line (PPS skipped).
 *
 * - insertion to ready: the first detect edge of an insertion → debounce →
 *   reset → ATR → PPS → SELECT answered; median and p99;
 * - removal to card-absent: the detect edge as the control channel delivers
 *   it → the socket's debounced report;
 * - SIGN (VERIFY PIN2 + COMPUTE DIGITAL SIGNATURE) round trip at the default
 *   speed (the card declines PPS) and after PPS (Di 4). A pty moves bytes at
 *   memory speed whatever its termios says, so on a pty both are alike: the
 *   figure shows the speed change costs nothing and works, not a UART's gain;
 * - T=1 framing efficiency (payload bytes / wire bytes, both directions) of a
 *   SIGN alone and of VERIFY PIN2 + SIGN, at IFSC = IFSD = 32 and at the
 *   ATR's IFSC 254 with IFSD 254.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../card-io/base/log.js';
import { activateHomeCard } from '../../card-io/home-card/connect-socket.js';
import { HomeCard } from '../../card-io/home-card/home-card.js';
import { openLink } from '../../card-io/link/open-link.js';
import { CardSocket } from '../../card-io/socket/card-socket.js';
import type { PresenceChange } from '../../card-io/socket/presence-debouncer.js';
import { VirtualSignals } from '../../card-io/socket/virtual-signals.js';
import { T1InterfaceDevice } from '../../card-io/t1/t1-interface-device.js';
import { spawnEmulator } from '../../deploy/sandbox/household/emulator-child.js';
import { freePort } from '../helpers/link-probes.js';
import { startPtyPair } from '../helpers/pty.js';
import { BENCH_PINS, personalizedImage } from './bench-card.js';
import { round, summarize } from './bench-stats.js';
import { MeteredLink, MeteredTransport, totalBytes } from './metering.js';
import { socatInstalled } from './pty-line.js';

const CYCLES = 20;
const SIGNS = 30;

function nextPresence(socket: CardSocket, present: boolean): Promise<PresenceChange> {
  return new Promise((resolve) => {
    const off = socket.onPresence((c) => {
      if (c.present !== present) return;
      off();
      resolve(c);
    });
  });
}

export async function runSocketBench(): Promise<Record<string, unknown>> {
  const cleanups: Array<() => unknown> = [];
  const dir = await mkdtemp(join(tmpdir(), 'homegate-socket-bench-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  try {
    const imagePath = await personalizedImage(dir);
    const pty = socatInstalled() ? await startPtyPair({ teardown: (fn) => void cleanups.push(fn) }) : undefined;
    const tcp = `tcp://127.0.0.1:${await freePort()}`;
    const [cardSide, hostSide] = pty ? [pty.cardPath, pty.hostPath] : [tcp, tcp];
    const control = join(dir, 'control.sock');
    const emulator = await spawnEmulator(cardSide, imagePath, ['--control', control], 'error');
    cleanups.push(() => emulator.stop());
    const link = openLink(hostSide, { backoff: { initialDelayMs: 10, maxDelayMs: 100 } });
    const signals = await VirtualSignals.connect({ control });
    const knobs = await VirtualSignals.connect({ control });
    cleanups.push(() => knobs.close());
    const socket = await CardSocket.open({ signals, link, baudRate: 115200, closeLink: true, logger: silentLogger });
    cleanups.push(() => socket.close());
    const options = { socket, baudRate: 115200, logger: silentLogger };

    // ---- insertion to ready, removal to card-absent
    const insertion: number[] = [];
    const removal: number[] = [];
    let firstEdgeAt: number | undefined;
    knobs.onDetectEdge(() => (firstEdgeAt ??= performance.now()));
    for (let i = 0; i < CYCLES; i++) {
      firstEdgeAt = undefined;
      const removed = nextPresence(socket, false);
      await knobs.person.remove();
      await removed;
      removal.push(performance.now() - firstEdgeAt!);
      await socket.deactivate();
      const inserted = nextPresence(socket, true);
      const edge = performance.now();
      await knobs.person.insert();
      await inserted;
      const active = await activateHomeCard(options);
      await active.card.select();
      insertion.push(performance.now() - edge);
      active.close();
    }

    // ---- SIGN at the default speed and after PPS; framing at IFSC 32 and 254
    const signRun = async (pps: 'default' | 'accept', ifsc: number | undefined, ifsd: number) => {
      await knobs.send({ kind: 'pps', behaviour: pps });
      const active = await activateHomeCard(options, 'warm');
      active.close();
      const wire = new MeteredLink(link);
      const ifd = new T1InterfaceDevice({ ...active.t1, ...(ifsc ? { ifsc } : {}), ifsd, link: wire, logger: silentLogger });
      const payload = new MeteredTransport(ifd);
      const card = new HomeCard({ transport: payload });
      await card.select();
      await card.verifyPin1(BENCH_PINS.pin1);
      const times: number[] = [];
      let wireBytes = 0;
      let payloadBytes = 0;
      let signWire = 0;
      let signPayload = 0;
      for (let i = 0; i < SIGNS; i++) {
        const digest = createHash('sha256').update(`socket bench ${i}`).digest();
        const [w0, p0] = [totalBytes(wire.bytes), totalBytes(payload.bytes)];
        const t0 = performance.now();
        await card.verifyPin2(BENCH_PINS.pin2);
        const [w1, p1] = [totalBytes(wire.bytes), totalBytes(payload.bytes)];
        await card.sign(digest);
        times.push(performance.now() - t0);
        signWire += totalBytes(wire.bytes) - w1;
        signPayload += totalBytes(payload.bytes) - p1;
        wireBytes += totalBytes(wire.bytes) - w0;
        payloadBytes += totalBytes(payload.bytes) - p0;
      }
      ifd.close();
      return {
        activation: active.activation,
        latency: summarize(times),
        framing: {
          sign: round(signPayload / signWire),
          signWireBytes: round(signWire / SIGNS, 1),
          verifyPin2AndSign: round(payloadBytes / wireBytes),
          verifyPin2AndSignWireBytes: round(wireBytes / SIGNS, 1),
        },
      };
    };
    const atDefault = await signRun('default', undefined, 254);
    const afterPps = await signRun('accept', undefined, 254);
    const ifsc32 = await signRun('default', 32, 32);
    return {
      line: pty ? 'pty pair (socat), emulator process, virtual socket' : 'TCP line (no socat), emulator process, virtual socket; PPS skipped',
      insertionToReady: { ...summarize(insertion), note: 'detect edge → 20 ms debounce → reset → ATR → PPS → SELECT answered' },
      removalToCardAbsent: { ...summarize(removal), budgetMs: 100 },
      signRoundTrip: {
        defaultSpeed: { baudRate: atDefault.activation.baudRate ?? null, pps: atDefault.activation.pps.outcome, ...atDefault.latency },
        afterPps: { baudRate: afterPps.activation.baudRate ?? null, pps: afterPps.activation.pps.outcome, ...afterPps.latency },
        ratioAfterPpsToDefault: round(afterPps.latency.medianMs / atDefault.latency.medianMs),
      },
      framingEfficiency: {
        note: 'payload bytes (APDUs) / wire bytes (T=1 blocks, R-blocks included), both directions',
        ifsc32ifsd32: ifsc32.framing,
        atrIfsc254ifsd254: atDefault.framing,
        targetForSign: 0.9,
      },
    };
  } finally {
    for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => undefined);
  }
}
