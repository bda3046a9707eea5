/**
 * The home-card driver's path to the card: encode the command APDU, send it
 * through the command queue and the ApduTransport, decode the response APDU,
 * and log one structured debug line with the command name and status word.
 *
 * Never the data field: VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER,
 * PUT DATA and EXTERNAL AUTHENTICATE carry PINs, PUKs and cryptograms.
 */
import { encodeCommandApdu, parseResponseApdu, swHex, type CommandApdu, type ResponseApdu } from '../apdu/index.js';
import { isCardError } from '../errors.js';
import type { Logger } from '../base/log.js';
import type { ApduTransport } from '../t1/apdu-transport.js';
import { CommandQueue, type CommandQueueOptions } from './command-queue.js';

export interface CardChannelOptions extends CommandQueueOptions {
  transport: ApduTransport;
  logger: Logger;
}

export class CardChannel {
  private readonly transport: ApduTransport;
  private readonly log: Logger;
  private readonly queue: CommandQueue;

  constructor({ transport, logger, ...queueOptions }: CardChannelOptions) {
    this.transport = transport;
    this.log = logger;
    this.queue = new CommandQueue(queueOptions);
  }

  /** Send one command (`name` as in the command map), after every earlier one has settled; resolves with any SW. */
  async exchange(name: string, apdu: CommandApdu): Promise<ResponseApdu> {
    const bytes = encodeCommandApdu(apdu);
    let response: ResponseApdu;
    try {
      response = parseResponseApdu(await this.queue.run(name, () => this.transmitThenWipe(bytes, apdu)));
    } catch (e) {
      this.log.debug({ command: name, code: isCardError(e) ? e.code : undefined }, 'card command failed');
      throw e;
    }
    if (this.log.isLevelEnabled('debug')) this.log.debug({ command: name, sw: swHex(response.sw) }, 'card command');
    return response;
  }

  private async transmitThenWipe(bytes: Buffer, apdu: CommandApdu): Promise<Buffer> {
    try {
      return await this.transport.transmit(bytes);
    } finally {
      // These bytes may hold a PIN block or a cryptogram: wipe them once the
      // transport is done with them (not at a timeout, it may still be sending).
      bytes.fill(0);
      apdu.data.fill(0);
    }
  }
}
