import test from 'ava';
import { ConfigError, parseGatewayConfig } from '../../../gateway/config/gateway-config.js';
import { checkPanelPins, panelPinProblems } from '../../../gateway/panel/panel-options.js';

const minimal = { card: { device: 'tcp://127.0.0.1:7816' } };
const pins = { ready: 5, busy: 6, attention: 13, button: 17 };

test('without a panel section the gateway is headless', (t) => {
  t.is(parseGatewayConfig(minimal).panel, undefined);
});

test('a panel section gets its documented defaults', (t) => {
  const c = parseGatewayConfig({ ...minimal, panel: { plugin: 'linux-gpio', pins } });
  t.like(c.panel, { plugin: 'linux-gpio', chip: 'gpiochip0', buttonActiveLow: true, beepMs: 80, confirm: { timeoutMs: 30_000, longPressMs: 2000 } });
  t.is(c.panel?.confirm.payAbove, undefined);
});

test('a wrong pin map is one configuration error that lists every problem with its path', (t) => {
  const panel = { plugin: 'firmata', pins: { ready: 5, busy: 5, attention: 200, button: 9, buzzer: 9 }, confirm: { payAbove: -1 } };
  const error = t.throws(() => parseGatewayConfig({ ...minimal, panel }), { instanceOf: ConfigError });
  const problems = (error as ConfigError).problems;
  const has = (path: string, words: string) =>
    t.true(
      problems.some((p) => p.startsWith(path) && p.includes(words)),
      `${path}: ${words}\n${problems.join('\n')}`,
    );
  has('panel.device', 'firmata plugin needs');
  has('panel.pins.busy', 'pin 5 is used twice: ready and busy');
  has('panel.pins.buzzer', 'pin 9 is used twice: button and buzzer');
  has('panel.pins.attention', 'out of range for the firmata plugin (0..127)');
  has('panel.confirm.payAbove', '');
  t.true((error as ConfigError).message.includes('panel.pins.busy'), 'the one message lists them');
});

test('a panel pin that the gpio card socket also uses is a problem naming both', (t) => {
  const socket = { rstPin: 22, detectPin: 17, vccPin: 6 };
  const problems = panelPinProblems({ plugin: 'linux-gpio', pins }, socket);
  t.deepEqual(
    problems.map((p) => `${p.path.join('.')}: ${p.message}`),
    [
      "pins.button: pin 17 is also the card socket's detectPin (card.socket.detectPin)",
      "pins.busy: pin 6 is also the card socket's vccPin (card.socket.vccPin)",
    ],
  );
  // The whole configuration's check reads them from card.socket (the socket's own schema declares it).
  const issues: Array<{ path: PropertyKey[]; message: string }> = [];
  const ctx = { addIssue: (i: { path: PropertyKey[]; message: string }) => issues.push(i) } as unknown as Parameters<typeof checkPanelPins>[1];
  checkPanelPins({ card: { device: 'x', socket: { backend: 'gpio', ...socket, detectActiveLow: true } }, panel: { plugin: 'virtual', pins } }, ctx);
  t.deepEqual(issues[0], {
    code: 'custom',
    path: ['panel', 'pins', 'button'],
    message: "pin 17 is also the card socket's detectPin (card.socket.detectPin)",
  } as never);
  issues.length = 0;
  checkPanelPins({ card: { device: 'x', socket: { backend: 'modem-lines', rstPin: 17 } }, panel: { plugin: 'virtual', pins } }, ctx);
  t.deepEqual(issues, [], 'a modem-lines socket uses no board pins');
});
