/**
 * Tearing: the emulator runs as its own process on a TCP line; a state-changing
 * command is sent and the process is SIGKILLed at a random moment (a few ms in,
 * as a commit starts, right after a commit, or after the answer). On restart the
 * image must load (checksum, strict checks) and hold exactly a state the command
 * could have committed: the one before, one of its committed steps, or the one
 * after (computed by running the same APDU on an in-process applet). A wrong
 * try is never given back. Random but replayable: HOMEGATE_SEED=<seed printed>.
 * HOMEGATE_TEARING_ITERATIONS sets the number of kills (default 32, in two lanes:
 * two images, two emulator processes, run side by side).
 */
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import test, { type ExecutionContext } from 'ava';
import { encodeCommandApdu } from '../../card-io/apdu/command-apdu.js';
import { parseResponseApdu } from '../../card-io/apdu/response-apdu.js';
import { createCardImage, readCardImageState } from '../../card-io/emulator/card-image.js';
import type { CardState } from '../../card-io/emulator/card-state.js';
import { buildGetData, DataTag } from '../../card-io/home-card/commands/index.js';
import { personalizeCard } from '../../provisioning/personalize-card.js';
import { freePort } from '../helpers/link-probes.js';
import { seededRandom, seedFromEnv, type SeededRandom } from '../helpers/seeded-random.js';
import { makeIssuer } from './emulator-helpers.js';
import { startEmulatorProcess, type EmulatorProcess } from './emulator-process.js';
import { describeKillPoint, pickKillPoint, sendAndKill } from './tearing-kill.js';
import { pickScenario, PINS, restoreCanonical, runPrep } from './tearing-scenarios.js';
import { expectedStates, stateView, type StateView } from './tearing-state.js';

const KILLS = Number(process.env.HOMEGATE_TEARING_ITERATIONS ?? 32);
const LANES = 2;

/** Read the image and its counter file as the restarted card will: throws CardError(ImageCorrupt) on a bad checksum. */
async function readState(imagePath: string): Promise<CardState> {
  return readCardImageState(imagePath);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** GET DATA DF03 through the restarted emulator, in the order of StateView. */
async function cardCounters(emulator: EmulatorProcess): Promise<number[]> {
  const r = parseResponseApdu(await emulator.send(encodeCommandApdu(buildGetData(DataTag.RetryCounters))));
  return [...r.data];
}

function viewCounters(v: StateView): number[] {
  return [v.pin1!.left, v.pin1!.max, v.pin2!.left, v.pin2!.max, v.puk!.left, v.puk!.max, v.adminTries.left, v.adminTries.max];
}

function counterOf(v: StateView, ref: 'pin1' | 'pin2' | 'puk' | 'admin'): number {
  return ref === 'admin' ? v.adminTries.left : v[ref]!.left;
}

interface Tally {
  before: number;
  step: number;
  after: number;
  answered: number;
  tempLeft: number;
  /** Set by the first lane that finds a wrong state: the others stop too. */
  failed: boolean;
}

/**
 * One card image, one emulator process after another: `kills` times, prepare a
 * command, send it, SIGKILL, check the image, restart.
 */
async function runLane(t: ExecutionContext, lane: number, rnd: SeededRandom, kills: number, tally: Tally): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'hg-tearing-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const imagePath = join(dir, 'card.img');
  const { adminKey } = await createCardImage(imagePath);
  const device = `tcp://127.0.0.1:${await freePort()}`;
  const anchors = [await makeIssuer('CN=Market A Root, O=A'), await makeIssuer('CN=Market B Root, O=B')].map((ca) => Buffer.from(ca.certificate));

  let emulator = await startEmulatorProcess(device, imagePath);
  t.teardown(() => emulator.stop());
  const issuer = await makeIssuer();
  await personalizeCard({ card: emulator.conn.card, adminKey: Buffer.from(adminKey), issuer, subject: 'CN=Tearing card', pins: PINS, anchors: [anchors[0]!] });

  for (let i = 0; i < kills && !tally.failed; i++) {
    const current = await readState(imagePath);
    await restoreCanonical(emulator.send, current, adminKey, (ref) => stateView(current)[ref]!.pin);
    const scenario = pickScenario(rnd, await readState(imagePath), anchors);
    await runPrep(emulator.send, scenario.prep, adminKey);
    const before = await readState(imagePath);
    const expected = await expectedStates(before, scenario, adminKey);
    const point = pickKillPoint(rnd, expected.states.length - 1);
    const label = `lane ${lane} #${i} ${scenario.name}, killed ${describeKillPoint(point)}`;

    const { answeredSw } = await sendAndKill(emulator, scenario.apdu, point, imagePath);
    if (await exists(`${imagePath}.tmp`)) tally.tempLeft++;
    const after = stateView(await readState(imagePath));
    const states = expected.states;
    const isAfter = isDeepStrictEqual(after, states.at(-1));
    if (!states.some((s) => isDeepStrictEqual(s, after))) {
      t.deepEqual(after, states.at(-1), `${label}: the image holds a state the command never committed`);
      tally.failed = true;
      return;
    }
    if (answeredSw !== undefined) {
      tally.answered++;
      t.is(answeredSw, expected.sw, `${label}: status word`);
      t.true(isAfter, `${label}: the card answered, so everything it committed must be in the image`);
      tally.failed ||= !isAfter;
    }
    if (scenario.counted) {
      const { ref, wrong } = scenario.counted;
      const was = counterOf(states[0]!, ref);
      const first = states[1];
      t.true(first !== undefined && counterOf(first, ref) === was - 1, `${label}: the first commit counts the try, before the comparison`);
      const now = counterOf(after, ref);
      if (wrong) t.true(now === was || now === was - 1, `${label}: a wrong ${ref} try went from ${was} to ${now} tries left`);
    }
    if (isAfter) tally.after++;
    else if (isDeepStrictEqual(after, states[0])) tally.before++;
    else tally.step++;

    emulator = await startEmulatorProcess(device, imagePath);
    t.false(await exists(`${imagePath}.tmp`), `${label}: the restarted card removed the temp file of the interrupted write`);
    t.deepEqual(await cardCounters(emulator), viewCounters(after), `${label}: the restarted card reports the image's counters`);
  }
}

test(
  'A SIGKILL at any moment of a state-changing command leaves a loadable image holding a state the command committed, and never gives back a wrong ' + 'try',
  async (t) => {
    const seed = seedFromEnv();
    t.log(`seed ${seed} (replay: HOMEGATE_SEED=${seed}), ${KILLS} kills in ${LANES} lanes`);
    const tally: Tally = { before: 0, step: 0, after: 0, answered: 0, tempLeft: 0, failed: false };
    // Lanes overlap one emulator's start-up (Node loading the CLI) with another's commands.
    const lanes = Array.from({ length: LANES }, (_, lane) =>
      runLane(t, lane, seededRandom((seed + lane * 0x9e3779b9) >>> 0), Math.ceil(KILLS / LANES), tally).catch((e: unknown) => {
        tally.failed = true;
        throw e;
      }),
    );
    // Every lane ends before the test does (and its teardown removes the images).
    const failure = (await Promise.allSettled(lanes)).find((r) => r.status === 'rejected');
    if (failure) throw failure.reason;
    t.log(
      `image after the kill: as before ${tally.before}, at a committed step ${tally.step}, as after ${tally.after}; answered before the kill ` +
        `${tally.answered}; temp file left ${tally.tempLeft}`,
    );
  },
);
