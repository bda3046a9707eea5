/** card.socket in gateway.json: each backend's fields and defaults, every problem listed, gpio without a panel refused. */
import test from 'ava';
import { silentLogger } from '../../card-io/base/log.js';
import { openCardSocket } from '../../gateway/card/open-card-socket.js';
import { ConfigError, parseGatewayConfig } from '../../gateway/config/gateway-config.js';

const base = { card: { device: 'tcp://127.0.0.1:7816' } };

test('without card.socket the configuration is as before: no socket, and the T=1 fields are overrides left unset', (t) => {
  const c = parseGatewayConfig(base);
  t.is(c.card.socket, undefined);
  t.is(c.card.ifsc, undefined);
  t.is(c.card.edc, undefined);
});

test('a modem-lines socket gets its documented defaults', (t) => {
  const c = parseGatewayConfig({ card: { ...base.card, socket: { backend: 'modem-lines' } } });
  t.deepEqual(c.card.socket, {
    backend: 'modem-lines',
    detectLine: 'cts',
    detectActiveLow: false,
    resetLine: 'rts',
    resetActiveLow: false,
    pollMs: 10,
    debounceMs: 20,
    atrTimeoutMs: 500,
    pps: true,
  });
});

const panel = { plugin: 'virtual', pins: { ready: 5, busy: 6, attention: 13, button: 16 } };

test('gpio pins are the fields the panel reads: rstPin, detectPin, vccPin (optional), detectActiveLow', (t) => {
  const c = parseGatewayConfig({ card: { ...base.card, socket: { backend: 'gpio', rstPin: 17, detectPin: 27 } }, panel });
  t.like(c.card.socket, { backend: 'gpio', rstPin: 17, detectPin: 27, detectActiveLow: true });
  // The panel's IO plugins number pins (BCM line offsets, Arduino pins): a name is refused at start, not at first use.
  const e = t.throws(() => parseGatewayConfig({ card: { ...base.card, socket: { backend: 'gpio', rstPin: 'GPIO17', detectPin: 27 } }, panel }), {
    instanceOf: ConfigError,
  });
  t.true((e as ConfigError).problems.some((p) => p.startsWith('card.socket.rstPin')));
});

test('a wrong socket section lists every problem with its path', (t) => {
  const e = t.throws(() => parseGatewayConfig({ card: { ...base.card, socket: { backend: 'gpio', detectPin: -1, debounceMs: 0 } } }), {
    instanceOf: ConfigError,
  });
  const paths = (e as ConfigError).problems.map((p) => p.split(':')[0]);
  for (const p of ['card.socket.rstPin', 'card.socket.detectPin', 'card.socket.debounceMs']) t.true(paths.includes(p), `${p} in ${paths.join(', ')}`);
});

test('choosing the gpio backend on a gateway without a panel is a clear configuration error, at validation and at start', async (t) => {
  const gpio = { backend: 'gpio', rstPin: 17, detectPin: 27 } as const;
  const invalid = t.throws(() => parseGatewayConfig({ card: { ...base.card, socket: gpio } }), { instanceOf: ConfigError });
  t.true(
    (invalid as ConfigError).problems.some((p) => p.startsWith('card.socket.backend:') && p.includes('no "panel"')),
    (invalid as ConfigError).problems.join('\n'),
  );
  // openCardSocket refuses it too (a configuration built in code, not parsed).
  const c = parseGatewayConfig({ card: { ...base.card, socket: gpio }, panel });
  const e = await t.throwsAsync(
    openCardSocket({ socket: c.card.socket!, device: 'tcp://127.0.0.1:1', baudRate: 115200, dataDir: '/tmp', logger: silentLogger }),
    { instanceOf: ConfigError },
  );
  t.regex(e!.message, /gpio.*needs the panel/);
});

test("the gpio socket's pins: a pin used twice, a pin out of the panel plugin's range, and a wrong type elsewhere are all in the one error", (t) => {
  const e = t.throws(
    () =>
      parseGatewayConfig({
        card: { ...base.card, baudRate: 'fast', socket: { backend: 'gpio', rstPin: 22, detectPin: 22, vccPin: 300 } },
        panel: { ...panel, pins: { ...panel.pins, busy: 5 } },
      }),
    { instanceOf: ConfigError },
  );
  const problems = (e as ConfigError).problems;
  const has = (path: string, words: string) =>
    t.true(
      problems.some((p) => p.startsWith(`${path}:`) && p.includes(words)),
      `${path}: ${words}\n${problems.join('\n')}`,
    );
  has('card.baudRate', '');
  has('card.socket.detectPin', 'pin 22 is used twice: rstPin and detectPin');
  has('card.socket.vccPin', "out of range for the panel's virtual plugin (0..127)");
  has('panel.pins.busy', 'pin 5 is used twice: ready and busy');
});

test('a debounce longer than 80 ms is refused: a pulled card must be reported within 100 ms of the detect edge', (t) => {
  const e = t.throws(() => parseGatewayConfig({ card: { ...base.card, socket: { backend: 'virtual', control: 'card.sock', debounceMs: 100 } } }), {
    instanceOf: ConfigError,
  });
  t.true((e as ConfigError).problems.some((p) => p.startsWith('card.socket.debounceMs:')));
  t.like(parseGatewayConfig({ card: { ...base.card, socket: { backend: 'virtual', control: 'card.sock', debounceMs: 80 } } }).card.socket, { debounceMs: 80 });
});

test('a modem-lines reader polled so slowly that a pull could not be reported within 100 ms is refused', (t) => {
  const e = t.throws(() => parseGatewayConfig({ card: { ...base.card, socket: { backend: 'modem-lines', pollMs: 90, debounceMs: 20 } } }), {
    instanceOf: ConfigError,
  });
  t.true(
    (e as ConfigError).problems.some((p) => p.startsWith('card.socket.pollMs:') && p.includes('at most 100')),
    (e as ConfigError).problems.join('\n'),
  );
  t.like(parseGatewayConfig({ card: { ...base.card, socket: { backend: 'modem-lines', pollMs: 80, debounceMs: 20 } } }).card.socket, { pollMs: 80 });
});
