/**
 * Serializes card commands: the card runs one command at a time and a T=1
 * link carries one APDU exchange at a time, so every transmit goes through one
 * FIFO queue (as Z-Wave JS serializes its link with `AsyncQueue`).
 *
 * Each command gets a timeout, counted from when it starts, not from when it
 * was queued: a caller waiting behind a slow key generation is not the one
 * that is late.
 *
 * A timed-out command rejects its caller with CardError(CommandTimeout) at
 * once, but the queue does NOT start the next command until the timed-out
 * transmit itself settles. The card may still be working on it, and the T=1
 * layer still owns the block exchange; sending the next APDU now would
 * interleave two commands on one card. The T=1 layer bounds every exchange
 * (BWT, WTX, its block retries, closing the link), so the transmit does settle.
 *
 * No retries here, on purpose: only the T=1 layer repeats blocks (its error
 * handling, ISO/IEC 7816-3 §11). A card command may not be idempotent (VERIFY counts a try,
 * COMPUTE DIGITAL SIGNATURE uses up the release, PUT DATA adds an anchor), so
 * repeating it after an unclear outcome could cost a PIN try or do a thing twice.
 */
import { CardError, CardErrorCode } from '../errors.js';

export interface CommandQueueOptions {
  /**
   * Longest time one command may run, in milliseconds, from its start.
   * Integer, 1 to 600000. Default 10000: well above the T=1 block waiting time
   * (BWT 1500 ms, PROTOCOL.md) with its retries, yet short enough that a dead
   * card is reported quickly. Slow commands (key generation) keep the T=1 layer
   * alive with S(WTX) but still count against this limit.
   */
  timeoutMs?: number;
}

export const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;
export const MAX_COMMAND_TIMEOUT_MS = 600_000;

export class CommandQueue {
  readonly timeoutMs: number;
  /** Settles when the last queued command has settled; never rejects. */
  private tail: Promise<void> = Promise.resolve();
  private waiting = 0;

  constructor(options: CommandQueueOptions = {}) {
    const timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_COMMAND_TIMEOUT_MS) {
      const message = `timeoutMs must be an integer from 1 to ${MAX_COMMAND_TIMEOUT_MS}`;
      throw new CardError(CardErrorCode.InvalidArgument, message, { timeoutMs });
    }
    this.timeoutMs = timeoutMs;
  }

  /** Commands queued or running, including a timed-out one that has not settled yet. */
  get size(): number {
    return this.waiting;
  }

  /**
   * Run `task` after every earlier command has settled. Resolves or rejects
   * with the task's outcome, or rejects with CardError(CommandTimeout) when it
   * runs longer than `timeoutMs`.
   */
  run<T>(command: string, task: () => Promise<T>): Promise<T> {
    this.waiting++;
    return new Promise<T>((resolve, reject) => {
      this.tail = this.tail.then(async () => {
        // Promise.resolve().then() turns a synchronous throw into a rejection.
        const work = Promise.resolve().then(task);
        // Registered first, so `size` drops before the caller hears the outcome.
        const settled = work.then(
          () => void this.waiting--,
          () => void this.waiting--,
        );
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, rejectTimeout) => {
          timer = setTimeout(() => {
            rejectTimeout(
              new CardError(CardErrorCode.CommandTimeout, `${command} timed out after ${this.timeoutMs} ms`, {
                command,
                timeoutMs: this.timeoutMs,
              }),
            );
          }, this.timeoutMs);
        });
        try {
          resolve(await Promise.race([work, timeout]));
        } catch (e) {
          reject(e);
        } finally {
          clearTimeout(timer);
        }
        // The caller has its answer; the next command still waits for this one (see above).
        await settled;
      });
    });
  }
}
