/**
 * `card.socket` in gateway.json: how the home card sits in its socket
 * (card-io/socket/). Absent: no socket, today's behaviour: the card line
 * coming up is a card freshly reset, going down is the card gone (no ATR).
 *
 *   virtual      the emulator's control channel (the sandbox, tests)
 *   modem-lines  a Phoenix/Smartmouse serial reader on card.device: RST on RTS/DTR, detect on CTS/DSR/DCD
 *   gpio         the card contact wired to the board: UART on card.device, RST, detect and VCC on GPIO
 *                pins driven through johnny-five (gateway/panel/; its pin names are the board plugin's)
 */
import { z } from 'zod';

/** A johnny-five pin: a number, or a name the IO plugin knows ("GPIO17", "P1-11"). */
const pin = z.union([z.number().int().min(0).max(1023), z.string().min(1).max(32)]);

/** Shared by every backend: debounce, activation timing, PPS. */
const common = {
  /** How long the detect switch must be stable before an insertion or removal counts, in ms, 1..1000. Default 20. */
  debounceMs: z.number().int().min(1).max(1000).default(20),
  /**
   * The card's clock in Hz, 1 MHz..20 MHz (ISO/IEC 7816-3 §5.2.3), for the
   * §6.2/§8 timings. Default: what card.baudRate implies at Fd/Dd (baud × 372).
   */
  clockHz: z.number().int().min(1_000_000).max(20_000_000).optional(),
  /** The least wait for the ATR's first byte after reset, in ms, 10..10000. Default 500 (40 000 clocks are far less). */
  atrTimeoutMs: z.number().int().min(10).max(10_000).default(500),
  /** Negotiate a faster Fi/Di with PPS (§9) when the ATR offers one and the line can change speed. Default true. */
  pps: z.boolean().default(true),
};

export const socketOptionsSchema = z.discriminatedUnion('backend', [
  z
    .object({
      backend: z.literal('virtual'),
      /** The emulator's control channel: tcp://host:port or a unix socket path (relative to the data directory). */
      control: z.string().min(1),
      ...common,
    })
    .strict(),
  z
    .object({
      backend: z.literal('modem-lines'),
      /** The input that shows a card: cts, dsr or dcd. Default cts. */
      detectLine: z.enum(['cts', 'dsr', 'dcd']).default('cts'),
      /** A card pulls the detect line low (true) or high (false). Default false. */
      detectActiveLow: z.boolean().default(false),
      /** The output that drives RST: rts (Phoenix) or dtr. Default rts. */
      resetLine: z.enum(['rts', 'dtr']).default('rts'),
      /** Reset is asserted with the line off (true) or on (false). Default false. */
      resetActiveLow: z.boolean().default(false),
      /** How often the detect line is read, in ms, 1..1000 (serialport has no modem-line events). Default 10. */
      pollMs: z.number().int().min(1).max(1000).default(10),
      ...common,
    })
    .strict(),
  z
    .object({
      backend: z.literal('gpio'),
      /** The GPIO driving the card's RST contact (C2). */
      rstPin: pin,
      /** The GPIO reading the socket's detect switch. */
      detectPin: pin,
      /** The GPIO switching the card's VCC (C1), when the board has one; absent: a cold reset is a warm one. */
      vccPin: pin.optional(),
      /** The detect switch pulls its pin low when a card is in. Default true (a switch to ground with a pull-up). */
      detectActiveLow: z.boolean().default(true),
      ...common,
    })
    .strict(),
]);

export type SocketOptions = z.infer<typeof socketOptionsSchema>;
export type GpioSocketOptions = Extract<SocketOptions, { backend: 'gpio' }>;
