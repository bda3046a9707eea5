/**
 * The home card applet: raw command APDU in, raw response APDU out, exactly as
 * PROTOCOL.md specifies; no transport (the T=1 card engine carries the bytes).
 *
 * Dispatch is a plain map from CLA‖INS to a handler. The envelope is checked
 * here once: an APDU that does not parse is `6700`, an unknown class `6E00`,
 * an unknown instruction `6D00` (ISO/IEC 7816-4 §5.6). `process` never
 * throws: a failed image write is `6581` with the state as last committed,
 * and anything unexpected is `6F00`. Commands run one at a time, and every
 * state change is committed durably before its response is returned.
 */
import { randomBytes } from 'node:crypto';
import { describeCommandApdu, parseCommandApdu, type CommandApdu } from '../apdu/command-apdu.js';
import { encodeResponseApdu } from '../apdu/response-apdu.js';
import { SW, swHex } from '../apdu/status-words.js';
import { CardErrorCode, isCardError } from '../errors.js';
import { silentLogger, type Logger } from '../base/log.js';
import { externalAuthenticate, getChallenge } from './admin-auth.js';
import { status, writeFailed, type AppletContext, type CommandHandler, type Reply } from './applet-context.js';
import { newSession, type CardSession, type CardState } from './card-state.js';
import type { CardStore } from './card-store.js';
import { getData, select } from './data-commands.js';
import { activate, factoryReset, generateKeyPair, putData } from './personalization-commands.js';
import { changeReferenceData, resetRetryCounter, verify } from './pin-commands.js';
import { cancel } from './purse-cancel.js';
import { signCancelRequest } from './purse-cancel-request.js';
import { getLoadChallenge, load } from './purse-load.js';
import { pay } from './purse-pay.js';
import { readRecord } from './purse-read.js';
import { performSecurityOperation, proprietarySecurityOperation } from './security-operations.js';

const ISO = 0x00;
const PROPRIETARY = 0x80;

/** CLA ‖ INS → handler. The purse is 80 50–56 and READ RECORD (PROTOCOL.md, "Purse"). */
const COMMANDS: ReadonlyMap<number, CommandHandler> = new Map<number, CommandHandler>([
  [(ISO << 8) | 0xa4, select],
  [(ISO << 8) | 0x84, getChallenge],
  [(ISO << 8) | 0x82, externalAuthenticate],
  [(ISO << 8) | 0x20, verify],
  [(ISO << 8) | 0x24, changeReferenceData],
  [(ISO << 8) | 0x2c, resetRetryCounter],
  [(ISO << 8) | 0xca, getData],
  [(ISO << 8) | 0x47, generateKeyPair],
  [(ISO << 8) | 0xda, putData],
  [(ISO << 8) | 0x44, activate],
  [(ISO << 8) | 0x2a, performSecurityOperation],
  [(PROPRIETARY << 8) | 0x2a, proprietarySecurityOperation],
  [(PROPRIETARY << 8) | 0xfe, factoryReset],
  [(PROPRIETARY << 8) | 0x50, pay],
  [(PROPRIETARY << 8) | 0x52, cancel],
  [(PROPRIETARY << 8) | 0x54, getLoadChallenge],
  [(PROPRIETARY << 8) | 0x56, load],
  [(PROPRIETARY << 8) | 0x58, signCancelRequest],
  [(ISO << 8) | 0xb2, readRecord],
]);

export interface HomeCardAppletOptions {
  /** Persistent memory: the image file (`loadCardImage`) or `createMemoryCardStore`. */
  store: CardStore;
  /** Command headers and status words at debug level; never data. Default: silent. */
  logger?: Logger;
  /** Random bytes for challenges, load challenges and PIN salts. Default: `crypto.randomBytes`. */
  random?: (length: number) => Buffer;
}

export interface HomeCardApplet {
  /** Process one command APDU; resolves with the response APDU (data ‖ SW1 SW2). */
  process(apdu: Buffer): Promise<Buffer>;
  /** Power loss and power-up: the card session (PIN states, release, admin, challenge) is gone. */
  powerCycle(): void;
}

/** The card has no clock: times come from the gateway (VERIFY CERTIFICATE). */
export function createHomeCardApplet(opts: HomeCardAppletOptions): HomeCardApplet {
  const { store } = opts;
  const logger = opts.logger ?? silentLogger;
  const random = opts.random ?? ((n: number) => randomBytes(n));
  let session: CardSession = newSession();
  let queue: Promise<unknown> = Promise.resolve();

  function contextFor(s: CardSession): AppletContext {
    return {
      get state(): CardState {
        return store.state;
      },
      session: s,
      async commit(next: CardState): Promise<void> {
        try {
          await store.commit(next);
        } catch (e) {
          throw writeFailed(e);
        }
      },
      random,
      logger,
    };
  }

  async function dispatch(cmd: CommandApdu): Promise<Reply> {
    if (cmd.cla !== ISO && cmd.cla !== PROPRIETARY) return status(SW.CLA_NOT_SUPPORTED);
    const handler = COMMANDS.get((cmd.cla << 8) | cmd.ins);
    if (handler === undefined) return status(SW.INS_NOT_SUPPORTED);
    try {
      // Each command sees the session as it was when it started; a power cycle
      // during a command starts a new session the command cannot touch.
      return await handler(cmd, contextFor(session));
    } catch (e) {
      if (isCardError(e, CardErrorCode.ImageWriteFailed)) {
        logger.error({ err: e.cause instanceof Error ? e.cause.message : String(e.cause) }, 'Card image write failed');
        return status(SW.MEMORY_FAILURE);
      }
      logger.error({ err: e instanceof Error ? e.message : String(e) }, 'Unexpected applet error');
      return status(SW.NO_PRECISE_DIAGNOSIS);
    }
  }

  async function processOne(bytes: Buffer): Promise<Buffer> {
    let cmd: CommandApdu;
    try {
      cmd = parseCommandApdu(bytes);
    } catch {
      logger.debug({ length: bytes.length }, 'Malformed command APDU');
      return encodeResponseApdu({ sw: SW.WRONG_LENGTH, data: Buffer.alloc(0) });
    }
    const reply = await dispatch(cmd);
    if (logger.isLevelEnabled('debug')) {
      logger.debug({ command: describeCommandApdu(cmd), sw: swHex(reply.sw), length: reply.data?.length ?? 0 }, 'APDU');
    }
    return encodeResponseApdu({ sw: reply.sw, data: reply.data ?? Buffer.alloc(0) });
  }

  return {
    process(apdu: Buffer): Promise<Buffer> {
      const run = queue.then(() => processOne(Buffer.from(apdu)));
      queue = run.catch(() => undefined);
      return run;
    },
    powerCycle(): void {
      session = newSession();
    },
  };
}
