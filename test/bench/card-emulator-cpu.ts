/**
 * `cardEmulator` bench section: the card emulator's CPU per authorization,
 * the applet and its persistent memory only (no T=1 framing, no link), in
 * this process, for the APDUs the gateway sends for one delegated
 * authorization (gateway/authorization/market-authorizer.ts with a fresh
 * session certificate): VERIFY PIN2 (a counted try: decrement committed
 * before the compare, restore after), VERIFY CERTIFICATE (the market's
 * chain against the card's anchors), SIGN SESSION CERTIFICATE.
 *
 * Two stores on copies of the same personalized image, measured in the same
 * run, alternating rounds:
 * - `wholeImage` (baseline): every commit rewrites the whole image, as the
 *   emulator did before the counter file (encode with the private key's PEM
 *   export, SHA-256, temp file, fsync, rename, directory fsync);
 * - `counterFile` (what the emulator runs): loadCardImage's store, where a
 *   counters-only commit is one 32-byte slot of `<image>.counters`
 *   (card-io/emulator/counter-file.ts).
 *
 * CPU = process.cpuUsage() (user + system, every thread: libuv's file-system
 * pool included) around each applet.process call. Session TBS certificates
 * are built before the timed part (that is gateway work).
 *
 * Then the same sequence against the emulator as the sandbox runs it (its
 * own process, `homegate card emulate`, on a TCP card line, T=1 framing
 * included), its CPU read from /proc/<pid>/stat around all the
 * authorizations (10 ms ticks, so over many): `emulatorProcess`.
 *
 * Environment: HOMEGATE_BENCH_CARD_AUTHORIZATIONS (per store, default 200).
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replaceFileAtomically } from '../../card-io/base/durable/atomic-file.js';
import { createHomeCardApplet, type HomeCardApplet } from '../../card-io/emulator/applet.js';
import { createCardImage, loadCardImage } from '../../card-io/emulator/card-image.js';
import type { CardState } from '../../card-io/emulator/card-state.js';
import type { CardStore } from '../../card-io/emulator/card-store.js';
import { encodeImage } from '../../card-io/emulator/image-codec.js';
import { connectHomeCard } from '../../card-io/home-card/connect.js';
import { HomeCard } from '../../card-io/home-card/home-card.js';
import { spawnEmulator } from '../../deploy/sandbox/household/emulator-child.js';
import { buildSessionTbs } from '../../gateway/proxy/session-certificate.js';
import { personalizeCard } from '../../provisioning/personalize-card.js';
import { createRootCa, generateP256KeyPair } from '../../provisioning/pki/index.js';
import { createMarketPki, MARKET_HOSTS } from '../helpers/household/card-fixture.js';
import { freePort } from '../helpers/link-probes.js';
import { round } from './bench-stats.js';
import { readProcCpuMs } from './delegated-stats.js';
import { summarizeValues as summarize } from './purse-io.js';

const PINS = { pin1: '1234', pin2: '5678', puk: '87654321' } as const;

/** The emulator's store as it was before the counter file: the whole image per commit. */
async function wholeImageStore(path: string): Promise<CardStore> {
  const loaded = await loadCardImage(path);
  let state = loaded.state;
  let seq = 1_000_000;
  return {
    get state() {
      return state;
    },
    async commit(next: CardState): Promise<void> {
      // A fresh key pair object: encodeImage exports the PEM again, as every commit used to.
      const copy = next.keyPair ? { ...next, keyPair: { ...next.keyPair } } : next;
      await replaceFileAtomically(path, encodeImage(copy, ++seq));
      state = next;
    },
  };
}

interface Meter {
  card: HomeCard;
  /** CPU ms per instruction name, one entry per command. */
  cpu: Map<string, number[]>;
}

/** `INS P1P2` in hex, e.g. `20 0082` for VERIFY PIN2. */
const commandName = (apdu: Buffer) => `${apdu.subarray(1, 2).toString('hex')} ${apdu.subarray(2, 4).toString('hex')}`;

function metered(applet: HomeCardApplet): Meter {
  const cpu = new Map<string, number[]>();
  const transmit = async (apdu: Buffer): Promise<Buffer> => {
    const start = process.cpuUsage();
    const answer = await applet.process(apdu);
    const d = process.cpuUsage(start);
    const name = commandName(apdu);
    (cpu.get(name) ?? cpu.set(name, []).get(name)!).push((d.user + d.system) / 1000);
    return answer;
  };
  return { card: new HomeCard({ transport: { transmit } }), cpu };
}

export async function runCardEmulatorBench(env: NodeJS.ProcessEnv = process.env): Promise<Record<string, unknown>> {
  const n = Number(env.HOMEGATE_BENCH_CARD_AUTHORIZATIONS ?? 200);
  if (!Number.isInteger(n) || n < 1) throw new Error('HOMEGATE_BENCH_CARD_AUTHORIZATIONS must be a positive integer');
  const dir = await mkdtemp(join(tmpdir(), 'homegate-card-cpu-'));
  try {
    // A personalized card whose anchor is the market's root, as the sandbox's.
    const imagePath = join(dir, 'card.img');
    const { image, adminKey } = await createCardImage(imagePath);
    const applet0 = createHomeCardApplet({ store: image });
    const personalizer = new HomeCard({ transport: { transmit: (apdu) => applet0.process(apdu) } });
    const { privateKey } = generateP256KeyPair();
    const issuer = { privateKey, certificate: await createRootCa({ subject: 'CN=Bench issuer CA', privateKey }) };
    const market = await createMarketPki();
    const { certificate } = await personalizeCard({
      card: personalizer,
      adminKey,
      issuer,
      subject: 'CN=Bench card',
      pins: PINS,
      anchors: [Buffer.from(market.root.certificate)],
    });
    const stores = {
      wholeImage: await (async () => {
        await copyFile(imagePath, join(dir, 'whole.img'));
        return wholeImageStore(join(dir, 'whole.img'));
      })(),
      counterFile: await (async () => {
        await copyFile(imagePath, join(dir, 'counters.img'));
        return loadCardImage(join(dir, 'counters.img'));
      })(),
    };
    const meters = Object.fromEntries(Object.entries(stores).map(([name, store]) => [name, metered(createHomeCardApplet({ store }))])) as Record<
      keyof typeof stores,
      Meter
    >;
    const perAuthorization: Record<string, number[]> = { wholeImage: [], counterFile: [] };
    for (const m of Object.values(meters)) {
      await m.card.select();
      await m.card.verifyPin1(PINS.pin1);
    }
    const warmup = 5;
    for (let i = 0; i < warmup + n; i++) {
      for (const name of ['wholeImage', 'counterFile'] as const) {
        const m = meters[name];
        const now = Date.now();
        const tbs = buildSessionTbs({
          cardCertificate: certificate,
          subjectPublicKey: generateP256KeyPair().publicKey,
          dnsName: MARKET_HOSTS[0],
          now,
          lifetimeSeconds: 300,
        });
        const start = process.cpuUsage();
        await m.card.verifyPin2(PINS.pin2);
        await m.card.verifyCertificateChain(market.chain, new Date(now));
        await m.card.signSessionCertificate(tbs.der);
        const d = process.cpuUsage(start);
        if (i >= warmup) perAuthorization[name]!.push((d.user + d.system) / 1000);
      }
    }
    const byCommand = (m: Meter) => Object.fromEntries([...m.cpu].map(([command, values]) => [command, summarize(values.slice(-n)).median]));
    await copyFile(imagePath, join(dir, 'process.img'));
    const emulatorProcess = await measureEmulatorProcess(join(dir, 'process.img'), n, { certificate, chain: market.chain });
    const whole = summarize(perAuthorization.wholeImage!);
    const counters = summarize(perAuthorization.counterFile!);
    return {
      benchmark: 'card emulator: CPU per authorization (VERIFY PIN2, VERIFY CERTIFICATE, SIGN SESSION CERTIFICATE), applet and its persistent memory',
      method:
        'In this process, over a direct transport (no T=1, no link), on two copies of one personalized image, rounds alternating between the stores. ' +
        "cpuMs = process.cpuUsage() user + system around the three commands (includes the HomeCard driver's encoding, a few µs), " +
        'nearest-rank percentiles; the session TBS is built before the timed part. ' +
        'wholeImage = the store before this change (every commit rewrites the whole image, PEM export included); ' +
        "counterFile = the emulator's store now (counters-only commits in a 32-byte slot of <image>.counters).",
      authorizations: n,
      cpuMsPerAuthorization: { wholeImage: whole, counterFile: counters },
      ratioCounterFileToWholeImage: whole.median > 0 ? round(counters.median / whole.median, 3) : null,
      cpuMsMedianByCommand: { wholeImage: byCommand(meters.wholeImage), counterFile: byCommand(meters.counterFile) },
      emulatorProcess,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The authorization sequence against the emulator in its own process on a TCP line; its CPU from /proc per authorization. */
async function measureEmulatorProcess(
  imagePath: string,
  n: number,
  card: { certificate: Buffer; chain: Buffer[] },
): Promise<{ method: string; authorizations: number; cpuMsPerAuthorization: number | null }> {
  const device = `tcp://127.0.0.1:${await freePort()}`;
  const emulator = await spawnEmulator(device, imagePath, [], 'error');
  const pid = emulator.process.pid;
  try {
    const conn = await connectHomeCard({ device, link: { backoff: { initialDelayMs: 10, maxDelayMs: 100 } } });
    try {
      const hc = conn.card;
      await hc.select();
      await hc.verifyPin1(PINS.pin1);
      const authorize = async () => {
        const now = Date.now();
        const tbs = buildSessionTbs({
          cardCertificate: card.certificate,
          subjectPublicKey: generateP256KeyPair().publicKey,
          dnsName: MARKET_HOSTS[0],
          now,
          lifetimeSeconds: 300,
        });
        await hc.verifyPin2(PINS.pin2);
        await hc.verifyCertificateChain(card.chain, new Date(now));
        await hc.signSessionCertificate(tbs.der);
      };
      for (let i = 0; i < 5; i++) await authorize();
      const cpu0 = pid === undefined ? null : readProcCpuMs(pid);
      for (let i = 0; i < n; i++) await authorize();
      const cpu1 = pid === undefined ? null : readProcCpuMs(pid);
      return {
        method:
          '`homegate card emulate` in its own process on tcp://127.0.0.1 (T=1 and the line included), driven by HomeCard from this process; ' +
          '/proc/<pid>/stat utime + stime around all the authorizations (10 ms ticks), divided by their number.',
        authorizations: n,
        cpuMsPerAuthorization: cpu0 === null || cpu1 === null ? null : round((cpu1 - cpu0) / n, 3),
      };
    } finally {
      await conn.close();
    }
  } finally {
    await emulator.stop();
  }
}
