/**
 * `card.socket` in gateway.json: how the home card sits in its socket
 * (card-io/socket/). Absent: no socket, today's behaviour: the card line
 * coming up is a card freshly reset, going down is the card gone (no ATR).
 *
 *   virtual      the emulator's control channel (the sandbox, tests)
 *   modem-lines  a Phoenix/Smartmouse serial reader on card.device: RST on RTS/DTR, detect on CTS/DSR/DCD
 *   gpio         the card contact wired to the board: UART on card.device, RST, detect and VCC on GPIO
 *                pins driven through johnny-five (gateway/panel/; its pin names are the board plugin's)
 *
 * Each option's unit, range and default is in its `.describe()` (docs/CONFIGURATION.md is generated from them).
 */
import { z } from 'zod';

/**
 * A pin number as the panel's IO plugin numbers it (BCM line offset for linux-gpio, the Arduino pin for firmata);
 * the panel's plugin range, and each pin used once, are checked with the panel (panel-options.ts socketPinProblems).
 */
const pin = () => z.number().int().min(0).max(1023);

/** Shared by every backend: debounce, activation timing, PPS. */
const common = {
  debounceMs: z
    .number()
    .int()
    .min(1)
    // A pulled card is reported once the switch is stable: at most 80 keeps that within 100 ms of the detect edge.
    .max(80)
    .default(20)
    .describe(
      'How long the detect switch must be stable before an insertion or removal counts, in ms, 1..80 (a pulled card is reported within 100 ms of the detect edge). Default 20.',
    ),
  clockHz: z
    .number()
    .int()
    .min(1_000_000)
    .max(20_000_000)
    .optional()
    .describe("The card's clock in Hz, 1..20 MHz (ISO/IEC 7816-3 §5.2.3), for the §6.2/§8 timings. Default: what card.baudRate implies (baud × 372)."),
  atrTimeoutMs: z
    .number()
    .int()
    .min(10)
    .max(10_000)
    .default(500)
    .describe("The least wait for the ATR's first byte after reset (and for a PPS answer), in ms, 10..10000. Default 500."),
  pps: z.boolean().default(true).describe('Negotiate a faster Fi/Di with PPS (§9) when the ATR offers one and the line can change speed. Default true.'),
};

export const socketOptionsSchema = z.discriminatedUnion('backend', [
  z
    .object({
      backend: z.literal('virtual').describe('virtual: the emulator (homegate card emulate --control), the sandbox and tests.'),
      control: z.string().min(1).describe("The emulator's control channel: tcp://host:port or a unix socket path (relative to the data directory)."),
      ...common,
    })
    .strict(),
  z
    .object({
      backend: z.literal('modem-lines').describe('modem-lines: a Phoenix/Smartmouse serial reader on card.device.'),
      detectLine: z.enum(['cts', 'dsr', 'dcd']).default('cts').describe('The input that shows a card: cts, dsr or dcd. Default cts.'),
      detectActiveLow: z.boolean().default(false).describe('A card pulls the detect line low (true) or high (false). Default false.'),
      resetLine: z.enum(['rts', 'dtr']).default('rts').describe('The output that drives RST: rts (Phoenix) or dtr. Default rts.'),
      resetActiveLow: z.boolean().default(false).describe('Reset is asserted with the line off (true) or on (false). Default false.'),
      pollMs: z
        .number()
        .int()
        .min(1)
        .max(1000)
        .default(10)
        .describe('How often the detect line is read, in ms, 1..1000 (serialport has no modem-line events); with debounceMs at most 100 in all. Default 10.'),
      ...common,
    })
    .strict()
    // A pull is seen at the next read and counts once stable: both within the 100 ms the issue gives for card-absent.
    .refine((o) => o.pollMs + o.debounceMs <= 100, {
      path: ['pollMs'],
      message: 'pollMs + debounceMs must be at most 100: a pulled card is reported within 100 ms of the detect edge',
    }),
  z
    .object({
      backend: z.literal('gpio').describe('gpio: the card contact on the board, pins driven through johnny-five by the panel.'),
      rstPin: pin().describe("The GPIO driving the card's RST contact (C2)."),
      detectPin: pin().describe("The GPIO reading the socket's detect switch."),
      vccPin: pin().optional().describe("The GPIO switching the card's VCC (C1), when the board has one; absent: a cold reset is a warm one."),
      detectActiveLow: z
        .boolean()
        .default(true)
        .describe('The detect switch pulls its pin low when a card is in. Default true (a switch to ground with a pull-up).'),
      ...common,
    })
    .strict(),
]);

export type SocketOptions = z.infer<typeof socketOptionsSchema>;
export type GpioSocketOptions = Extract<SocketOptions, { backend: 'gpio' }>;
