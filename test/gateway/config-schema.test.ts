import test from 'ava';
import { ConfigError, parseGatewayConfig } from '../../gateway/config/gateway-config.js';
import { DEFAULT_PROXY_OPTIONS, resolveProxyOptions } from '../../gateway/proxy/proxy-options.js';
import { resolveMqttOptions } from '../../gateway/notify/mqtt-notifier.js';
import { DEFAULT_MQTT_CLIENT_ID, DEFAULT_TOPIC_PREFIX, mqttOptionsFromConfig } from '../../gateway/notify/mqtt-options.js';
import { isNotifyError } from '../../gateway/notify/notify-error.js';
import { resolveSmtpOptions } from '../../gateway/notify/smtp-notifier.js';
import { smtpOptionsFromConfig } from '../../gateway/notify/smtp-options.js';

const minimal = { card: { device: 'tcp://127.0.0.1:7816' } };

test('The proxy section of gateway.json defaults to exactly the proxy engine defaults', (t) => {
  t.deepEqual(parseGatewayConfig(minimal).proxy, DEFAULT_PROXY_OPTIONS);
});

test('A ticket timeout the proxy engine would refuse is refused by the configuration at start, not at the first authorization', (t) => {
  const error = t.throws(() => parseGatewayConfig({ ...minimal, proxy: { ticketTimeoutMs: 45_000 } }));
  t.true(error instanceof ConfigError);
  t.true((error as ConfigError).problems.some((p) => p.startsWith('proxy.ticketTimeoutMs')));
  t.throws(() => resolveProxyOptions({ ticketTimeoutMs: 45_000 }));
});

test('Every proxy value the configuration accepts is accepted by the proxy engine', (t) => {
  for (const proxy of [
    { leafLifetimeSeconds: 60, connectTimeoutMs: 100, ticketTimeoutMs: 100, reuseSessionCertificate: true },
    { leafLifetimeSeconds: 900, connectTimeoutMs: 60_000, ticketTimeoutMs: 30_000, reuseSessionCertificate: false },
  ]) {
    const config = parseGatewayConfig({ ...minimal, proxy });
    t.deepEqual(resolveProxyOptions(config.proxy), proxy);
  }
});

test('Every problem in the configuration is reported at once, each with its path', (t) => {
  const error = t.throws(() => parseGatewayConfig({ card: { device: '', baudRate: 1 }, proxy: { leafLifetimeSeconds: 5 }, extra: 1 }));
  const problems = (error as ConfigError).problems.join('\n');
  for (const path of ['card.device', 'card.baudRate', 'proxy.leafLifetimeSeconds', '(top level)']) t.true(problems.includes(path), path);
});

const mqttCases = {
  accepted: [
    { url: 'mqtt://broker.lan:1883' },
    { url: 'mqtts://broker.lan', clientId: 'homegate-gateway-2', topicPrefix: 'home_2', username: 'homegate-gateway', passwordFile: 'mqtt.pass' },
    { url: 'wss://broker.lan/mqtt', reconnectPeriodMs: 100, connectTimeoutMs: 120_000, keepaliveSeconds: 0, inflight: 1000 },
  ],
  refused: [
    { url: 'http://broker.lan' },
    { url: 'mqtt://' },
    { url: 'mqtt://gateway:secret@broker.lan' },
    { url: 'mqtt://broker.lan', topicPrefix: 'home gate' },
    { url: 'mqtt://broker.lan', topicPrefix: 'home/gate' },
    { url: 'mqtt://broker.lan', topicPrefix: '$SYS' },
    { url: 'mqtt://broker.lan', topicPrefix: 'home+' },
    { url: 'mqtt://broker.lan', clientId: '' },
    { url: 'mqtt://broker.lan', username: '' },
    { url: 'mqtt://broker.lan', reconnectPeriodMs: 5 },
    { url: 'mqtt://broker.lan', keepaliveSeconds: 65_536 },
  ],
};

/** What the notifier is handed for a configuration section, and whether it accepts it. */
function notifierAcceptsMqtt(section: Record<string, unknown>): boolean {
  const { passwordFile: _file, ...options } = section;
  try {
    resolveMqttOptions({ ...(options as { url: string }), password: 'secret' });
    return true;
  } catch (e) {
    if (!isNotifyError(e, 'invalid-options')) throw e;
    return false;
  }
}

test('When the configuration accepts an MQTT section, the notifier accepts it with the same values and defaults', (t) => {
  for (const mqtt of mqttCases.accepted) {
    const config = parseGatewayConfig({ ...minimal, mqtt });
    const resolved = resolveMqttOptions(mqttOptionsFromConfig(config.mqtt!, 'secret'));
    const { passwordFile: _file, ...direct } = mqtt as Record<string, unknown>;
    t.deepEqual(resolved, resolveMqttOptions({ ...(direct as { url: string }), password: 'secret' }));
    t.is(resolved.topicPrefix, config.mqtt!.topicPrefix, 'the topic the terminals are told is the one the gateway publishes on');
  }
  const defaults = resolveMqttOptions(mqttOptionsFromConfig(parseGatewayConfig({ ...minimal, mqtt: { url: 'mqtt://b' } }).mqtt!, undefined));
  t.like(defaults, { clientId: DEFAULT_MQTT_CLIENT_ID, topicPrefix: DEFAULT_TOPIC_PREFIX, reconnectPeriodMs: 5000, inflight: 16 });
});

test('When the notifier would refuse an MQTT value, the configuration refuses it at start, naming the field', (t) => {
  for (const mqtt of mqttCases.refused) {
    t.false(notifierAcceptsMqtt(mqtt), JSON.stringify(mqtt));
    const error = t.throws(() => parseGatewayConfig({ ...minimal, mqtt }), undefined, JSON.stringify(mqtt));
    t.true(error instanceof ConfigError);
    t.true(
      (error as ConfigError).problems.some((p) => p.startsWith('mqtt.')),
      JSON.stringify(mqtt),
    );
  }
});

test('When an MQTT URL carries a password, the refusal does not repeat it', (t) => {
  const error = t.throws(() => parseGatewayConfig({ ...minimal, mqtt: { url: 'mqtt://gateway:hunter2@broker.lan' } }));
  t.false(error!.message.includes('hunter2'));
  const refused = t.throws(() => resolveMqttOptions({ url: 'mqtt://gateway:hunter2@broker.lan' }));
  t.false(refused!.message.includes('hunter2'));
});

const smtpCases = {
  accepted: [
    { host: 'mail.lan', from: 'homegate@home.example' },
    { host: 'mail.lan', port: 465, secure: true, requireTls: true, timeoutMs: 1000, from: '"Homegate" <homegate@home.example>' },
    { host: 'mail.lan', from: 'homegate@home.example', user: 'homegate', passwordFile: 'smtp.pass' },
  ],
  refused: [
    { host: '', from: 'homegate@home.example' },
    { host: 'mail.lan', from: 'nobody' },
    { host: 'mail.lan', from: 'homegate@home.example\r\nBcc: eve@evil.example' },
    { host: 'mail.lan', port: 0, from: 'homegate@home.example' },
    { host: 'mail.lan', timeoutMs: 10, from: 'homegate@home.example' },
  ],
};

test('When the configuration accepts an SMTP section, the notifier accepts it with the same values and defaults', (t) => {
  for (const smtp of smtpCases.accepted) {
    const config = parseGatewayConfig({ ...minimal, smtp });
    const resolved = resolveSmtpOptions(smtpOptionsFromConfig(config.smtp!, 'secret'));
    t.is(resolved.port, smtp.port ?? (smtp.secure ? 465 : 587));
    t.is(resolved.requireTls, smtp.requireTls ?? false);
    t.is(resolved.timeoutMs, smtp.timeoutMs ?? 30_000);
    t.deepEqual(resolved.auth, smtp.user ? { user: smtp.user, pass: 'secret' } : undefined);
  }
});

test('When the notifier would refuse an SMTP value, the configuration refuses it at start, naming the field', (t) => {
  for (const smtp of smtpCases.refused) {
    t.throws(() => resolveSmtpOptions(smtp), undefined, JSON.stringify(smtp));
    const error = t.throws(() => parseGatewayConfig({ ...minimal, smtp }), undefined, JSON.stringify(smtp));
    t.true(
      (error as ConfigError).problems.some((p) => p.startsWith('smtp.')),
      JSON.stringify(smtp),
    );
  }
});

test('When an SMTP user comes without its password file (or the reverse), the configuration refuses it instead of sending without a login', (t) => {
  for (const smtp of [{ user: 'homegate' }, { passwordFile: 'smtp.pass' }]) {
    const error = t.throws(() => parseGatewayConfig({ ...minimal, smtp: { host: 'mail.lan', from: 'homegate@home.example', ...smtp } }));
    t.true((error as ConfigError).problems.some((p) => p.startsWith('smtp.passwordFile')));
  }
});
