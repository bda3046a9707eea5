/**
 * `panel` in gateway.json: the gateway's own LEDs, confirm button and buzzer,
 * driven through johnny-five and one IO plugin. Absent: a headless gateway
 * (no LEDs, no confirmation asked for any amount).
 *
 * A wrong pin map is one configuration error that lists every problem
 * (a pin used twice, a pin the card socket uses too, a pin out of the
 * plugin's range): `checkPanelPins` runs over the whole configuration
 * because the socket's pins live under `card.socket`.
 */
import { z } from 'zod';

const pin = z.number().int().min(0);

export const PANEL_PLUGINS = ['virtual', 'linux-gpio', 'firmata'] as const;
export type PanelPlugin = (typeof PANEL_PLUGINS)[number];

/** Highest pin number each plugin can address. */
export const MAX_PIN: Record<PanelPlugin, number> = {
  // Firmata carries a pin number in 7 bits (PIN_MODE, SET_DIGITAL_PIN_VALUE).
  firmata: 127,
  // A line offset on one gpiochip; a Raspberry Pi header uses 0..27 of gpiochip0 (BCM numbers).
  'linux-gpio': 511,
  virtual: 127,
};

export const panelPinsSchema = z
  .object({
    /** LED: the card is present and usable. */
    ready: pin,
    /** LED: blinks while the card works, fast while a confirmation is awaited. */
    busy: pin,
    /** LED: card blocked or refused, outbox backlog, errors. */
    attention: pin,
    /** The confirm button (to ground, with a pull-up: pressed reads low unless buttonActiveLow is false). */
    button: pin,
    /** An active buzzer (on while high); absent: no beep. */
    buzzer: pin.optional(),
  })
  .strict();

export const panelConfirmSchema = z
  .object({
    /** Payments above this amount (minor units, ≥ 0) wait for a press. Absent: payments never wait. */
    payAbove: z.number().int().min(0).optional(),
    /** Top-ups above this amount (minor units, ≥ 0) wait for a press. Absent: top-ups never wait. */
    topupAbove: z.number().int().min(0).optional(),
    /** How long a press is awaited, in ms, 100..600000. Default 30000. */
    timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
    /** A press held this long, in ms, 200..10000, refuses at once. Default 2000. */
    longPressMs: z.number().int().min(200).max(10_000).default(2000),
  })
  .strict();

export const panelOptionsSchema = z
  .object({
    /** virtual (in-process, sandbox and tests) | linux-gpio (libgpiod tools) | firmata (an Arduino on USB). */
    plugin: z.enum(PANEL_PLUGINS),
    /** firmata: the Arduino's serial device (/dev/ttyACM0, a udev name). Required for firmata. */
    device: z.string().min(1).optional(),
    /** firmata: line speed in bit/s. Default 57600 (StandardFirmata's). */
    baudRate: z.number().int().min(1200).max(2_000_000).default(57_600),
    /** linux-gpio: the GPIO chip (name as gpiodetect shows it, or its number). Default gpiochip0. */
    chip: z.string().min(1).default('gpiochip0'),
    pins: panelPinsSchema,
    /** The button pulls its pin to ground when pressed (pull-up wiring). Default true. */
    buttonActiveLow: z.boolean().default(true),
    confirm: panelConfirmSchema.default({ timeoutMs: 30_000, longPressMs: 2000 }),
    /** Length of the beep on each payment decision, in ms, 10..2000. Default 80. */
    beepMs: z.number().int().min(10).max(2000).default(80),
    /** Outbox depth from which the attention LED lights, 1..100000. Default 20. */
    outboxBacklog: z.number().int().min(1).max(100_000).default(20),
    /** How long a reported problem keeps the attention LED lit, in ms, 1000..86400000. Default 300000. */
    problemHoldMs: z.number().int().min(1000).max(86_400_000).default(300_000),
  })
  .strict();

export type PanelOptions = z.infer<typeof panelOptionsSchema>;

export interface PinProblem {
  path: (string | number)[];
  message: string;
}

/** The card socket's pins when its backend is gpio (card.socket, defined by the socket's own options). */
export function socketGpioPins(card: unknown): Record<string, number> {
  const socket = (card as { socket?: Record<string, unknown> } | undefined)?.socket;
  if (socket?.backend !== 'gpio') return {};
  const out: Record<string, number> = {};
  for (const name of ['rstPin', 'detectPin', 'vccPin']) {
    const v = socket[name];
    if (typeof v === 'number') out[name] = v;
  }
  return out;
}

/** Every problem of the panel's pin map, and of its plugin settings, at once. */
export function panelPinProblems(panel: Partial<PanelOptions>, socketPins: Record<string, number>): PinProblem[] {
  const problems: PinProblem[] = [];
  const plugin = panel.plugin;
  if (plugin === 'firmata' && !panel.device) problems.push({ path: ['device'], message: 'the firmata plugin needs "device" (the Arduino serial port)' });
  const pins = (panel.pins ?? {}) as Record<string, unknown>;
  const max = plugin ? MAX_PIN[plugin] : undefined;
  const users = new Map<number, string[]>();
  for (const [name, v] of Object.entries(pins)) {
    if (typeof v !== 'number') continue;
    if (max !== undefined && v > max) problems.push({ path: ['pins', name], message: `pin ${v} is out of range for the ${plugin} plugin (0..${max})` });
    users.set(v, [...(users.get(v) ?? []), name]);
  }
  for (const [p, names] of users) {
    if (names.length > 1) problems.push({ path: ['pins', names[1]!], message: `pin ${p} is used twice: ${names.join(' and ')}` });
  }
  for (const [socketName, p] of Object.entries(socketPins)) {
    const clash = users.get(p);
    if (clash) problems.push({ path: ['pins', clash[0]!], message: `pin ${p} is also the card socket's ${socketName} (card.socket.${socketName})` });
  }
  return problems;
}

/**
 * The gpio card socket's own pins (card.socket): each used once, each within
 * the panel plugin's range, and a panel to drive them at all. Paths are from
 * the configuration's root.
 */
export function socketPinProblems(card: unknown, panel: Partial<PanelOptions> | undefined): PinProblem[] {
  const socketPins = socketGpioPins(card);
  const names = Object.keys(socketPins);
  if (names.length === 0) return [];
  const problems: PinProblem[] = [];
  if (!panel) {
    problems.push({
      path: ['card', 'socket', 'backend'],
      message:
        'the gpio backend drives its pins through the panel\'s board (johnny-five), and there is no "panel"; configure one, or choose "modem-lines" or "virtual"',
    });
  }
  const max = panel?.plugin ? MAX_PIN[panel.plugin] : undefined;
  const users = new Map<number, string[]>();
  for (const [name, p] of Object.entries(socketPins)) {
    if (max !== undefined && p > max) {
      problems.push({ path: ['card', 'socket', name], message: `pin ${p} is out of range for the panel's ${panel?.plugin} plugin (0..${max})` });
    }
    users.set(p, [...(users.get(p) ?? []), name]);
  }
  for (const [p, using] of users) {
    if (using.length > 1) problems.push({ path: ['card', 'socket', using[1]!], message: `pin ${p} is used twice: ${using.join(' and ')}` });
  }
  return problems;
}

/**
 * For gateway-config's superRefine: the panel's pins checked against the
 * rest of the configuration (the card socket's pins live under card.socket),
 * and the gpio socket's own pins.
 */
export function checkPanelPins(config: { panel?: Partial<PanelOptions>; card?: unknown }, ctx: z.RefinementCtx): void {
  const add = (path: PinProblem['path'], message: string) => ctx.addIssue({ code: 'custom', path, message });
  for (const p of socketPinProblems(config.card, config.panel)) add(p.path, p.message);
  if (!config.panel) return;
  for (const p of panelPinProblems(config.panel, socketGpioPins(config.card))) add(['panel', ...p.path], p.message);
}
