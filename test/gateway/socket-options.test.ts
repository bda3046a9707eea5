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

test('gpio pins are the fields the panel reads: rstPin, detectPin, vccPin (optional), detectActiveLow', (t) => {
  const c = parseGatewayConfig({ card: { ...base.card, socket: { backend: 'gpio', rstPin: 17, detectPin: 27 } } });
  t.like(c.card.socket, { backend: 'gpio', rstPin: 17, detectPin: 27, detectActiveLow: true });
  // The panel's IO plugins number pins (BCM line offsets, Arduino pins): a name is refused at start, not at first use.
  const e = t.throws(() => parseGatewayConfig({ card: { ...base.card, socket: { backend: 'gpio', rstPin: 'GPIO17', detectPin: 27 } } }), {
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

test('choosing the gpio backend on a gateway without a panel is a clear configuration error', async (t) => {
  const c = parseGatewayConfig({ card: { ...base.card, socket: { backend: 'gpio', rstPin: 17, detectPin: 27 } } });
  const e = await t.throwsAsync(
    openCardSocket({ socket: c.card.socket!, device: 'tcp://127.0.0.1:1', baudRate: 115200, dataDir: '/tmp', logger: silentLogger }),
    { instanceOf: ConfigError },
  );
  t.regex(e!.message, /gpio.*needs the panel/);
});
