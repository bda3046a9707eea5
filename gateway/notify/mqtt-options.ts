/**
 * The MQTT channel's options: the one schema. gateway.json's `mqtt` section is
 * this schema plus `passwordFile` (the password stays out of the file), and
 * the notifier's options are this schema plus the password read from it, so
 * a value the configuration accepts is a value the notifier accepts, with
 * the same defaults.
 */
import { z } from 'zod';

/** The first topic level when none is configured. */
export const DEFAULT_TOPIC_PREFIX = 'homegate';
/** The gateway's own topic level under the prefix (`homegate/gateway/…`). */
export const DEFAULT_GATEWAY_ID = 'gateway';

/** The client id when none is configured; the broker's gateway user (broker-users.ts) has it. */
export const DEFAULT_MQTT_CLIENT_ID = 'homegate-gateway';

const MQTT_PROTOCOLS = ['mqtt:', 'mqtts:', 'ws:', 'wss:'];

/**
 * A broker URL: mqtt://, mqtts:// (TLS), ws:// or wss:// with a host, as
 * MQTT.js connects to it. No user or password in it: the URL is handed to
 * terminals (`GET /v1/whoami` mailbox) and written to logs, so credentials go
 * in `username` and `passwordFile`.
 */
export const mqttUrlSchema = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a URL such as mqtt://host:1883' });
    return;
  }
  if (!MQTT_PROTOCOLS.includes(url.protocol)) ctx.addIssue({ code: 'custom', message: 'must be an mqtt://, mqtts://, ws:// or wss:// URL' });
  if (url.hostname === '') ctx.addIssue({ code: 'custom', message: 'must name the broker host' });
  if (url.username !== '' || url.password !== '') {
    ctx.addIssue({ code: 'custom', message: 'must not carry a user or password (use username and passwordFile)' });
  }
});

/**
 * One topic level: no `/` (it would be two levels), no `+` or `#` (wildcards,
 * MQTT 3.1.1 §4.7.1), no leading `$` (reserved for the broker, §4.7.2), no
 * NUL (§1.5.3) and no white space (Mosquitto's ACL file splits on it).
 * Up to 64 characters.
 */
export const topicPrefixSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[^/+#$\s\u0000][^/+#\s\u0000]*$/, 'one topic level without /, +, #, white space or a leading $');

/** Everything but the password. */
export const mqttConnectionShape = {
  url: mqttUrlSchema.describe(
    'Broker URL: mqtt://, mqtts:// (TLS), ws:// or wss:// with a host, and no user or password in it (terminals are given it). Required.',
  ),
  clientId: z
    .string()
    .min(1)
    .max(128)
    .default(DEFAULT_MQTT_CLIENT_ID)
    .describe('MQTT client id, 1..128 characters. Default homegate-gateway. Two gateways on one broker need two ids.'),
  username: z.string().min(1).optional().describe('Broker user name. Absent: anonymous (the embedded broker and homegate.conf refuse that).'),
  gatewayId: topicPrefixSchema
    .default(DEFAULT_GATEWAY_ID)
    .describe(
      "This gateway's own topic level under the prefix: its availability, state, events, requests and responses live under `<topicPrefix>/<gatewayId>/`. Same rules as topicPrefix. Default gateway (the shipped ACL names `homegate/gateway/`; edit it for another id).",
    ),
  topicPrefix: topicPrefixSchema
    .default(DEFAULT_TOPIC_PREFIX)
    .describe(
      'First topic level of everything the gateway publishes: one level, up to 64 characters, without /, +, #, white space or a leading $. Default homegate.',
    ),
};

/** How the client paces itself; only the notifier reads these. */
export const mqttTuningShape = {
  reconnectPeriodMs: z
    .number()
    .int()
    .min(100)
    .max(3_600_000)
    .default(5000)
    .describe(
      'First delay before a reconnect attempt, ms, 100..3 600 000. Default 5000. Each failed attempt doubles it up to `reconnectMaxMs`, and every ' +
        'delay is drawn at random between half and all of it ("equal jitter"), so a household\'s gateways and dashboards do not hammer a restarted broker in step.',
    ),
  reconnectMaxMs: z.number().int().min(100).max(3_600_000).default(60_000).describe('Upper bound of the reconnect delay, ms, 100..3 600 000. Default 60 000.'),
  connectTimeoutMs: z.number().int().min(100).max(120_000).default(10_000).describe('How long to wait for CONNACK, ms, 100..120 000. Default 10 000.'),
  keepaliveSeconds: z
    .number()
    .int()
    .min(0)
    .max(65_535)
    .default(60)
    .describe('MQTT keep-alive, s, 0..65 535 (a 16-bit field, MQTT 3.1.1 §3.1.2.10). Default 60.'),
  inflight: z.number().int().min(1).max(1000).default(16).describe('QoS 1 publishes awaiting PUBACK at once, 1..1000. Default 16.'),
};

/**
 * TLS material as given to the client (PEM text), read from the files that
 * gateway.json names (`caFile`, `certFile`, `keyFile`). Used for mqtts:// and
 * wss:// URLs; the broker's name is checked as always.
 */
export const mqttTlsShape = {
  ca: z.string().min(1).optional().describe("Extra trust anchors (PEM) beside the system's, e.g. the household CA that issued the broker's certificate."),
  cert: z.string().min(1).optional().describe('Client certificate (PEM) for brokers that require one (Mosquitto `require_certificate true`).'),
  key: z.string().min(1).optional().describe('Its private key (PEM). Secret: never logged.'),
};

/** What the notifier is given: the connection, its tuning, TLS material and the password itself. */
export const mqttNotifierOptionsSchema = z.strictObject({
  ...mqttConnectionShape,
  ...mqttTuningShape,
  ...mqttTlsShape,
  password: z.string().optional(),
});

/**
 * The dashboard (gateway/dashboard/): retained state, events, requests and
 * Home Assistant discovery on the same connection as the mail (docs/MQTT.md).
 */
export const mqttDashboardShape = {
  publishBalance: z.boolean().optional().describe('Publish the purse balance in `state` (and the balance sensor). Default false: a household opts in.'),
  discovery: z.boolean().optional().describe('Publish Home Assistant device discovery. Default true.'),
  discoveryPrefix: topicPrefixSchema.optional().describe("Home Assistant's discovery prefix (its `discovery_prefix`), one topic level. Default homeassistant."),
  stateIntervalMs: z
    .number()
    .int()
    .min(100) // 0 would publish every change of a flapping input: the issue bounds it to a few per second
    .max(10_000)
    .optional()
    .describe('Minimum time between two `state` publishes, ms, 100..10 000. Default 250 (at most ~4 per second).'),
  configurationUrl: z.string().url().optional().describe("The gateway's web page, shown by Home Assistant on the device (`configuration_url`). Absent: none."),
};

/**
 * Where the broker's password file is reloaded after the gateway changed it
 * (enrollment, revocation): the pid file of a Mosquitto on this board, which
 * is sent SIGHUP (Mosquitto rereads password and ACL files on SIGHUP).
 */
export const brokerReloadSchema = z.strictObject({
  pidFile: z.string().min(1).describe("Path of the broker's pid file (Mosquitto `pid_file`), absolute or relative to the data directory."),
});

/**
 * gateway.json's `mqtt` section: the connection plus the file holding the
 * password (0600). The tuning options have the same rules but stay unset when
 * not given, so the notifier applies its defaults (the only place they live).
 */
export const mqttConfigSchema = z.strictObject({
  ...mqttConnectionShape,
  reconnectPeriodMs: mqttTuningShape.reconnectPeriodMs
    .unwrap()
    .optional()
    .describe(mqttTuningShape.reconnectPeriodMs.description ?? ''),
  connectTimeoutMs: mqttTuningShape.connectTimeoutMs
    .unwrap()
    .optional()
    .describe(mqttTuningShape.connectTimeoutMs.description ?? ''),
  keepaliveSeconds: mqttTuningShape.keepaliveSeconds
    .unwrap()
    .optional()
    .describe(mqttTuningShape.keepaliveSeconds.description ?? ''),
  inflight: mqttTuningShape.inflight
    .unwrap()
    .optional()
    .describe(mqttTuningShape.inflight.description ?? ''),
  reconnectMaxMs: mqttTuningShape.reconnectMaxMs
    .unwrap()
    .optional()
    .describe(mqttTuningShape.reconnectMaxMs.description ?? ''),
  terminalUrl: mqttUrlSchema
    .optional()
    .describe(
      'The broker URL terminals are given (pairing, GET /v1/whoami) to read their mail, when it is not `url`: with the shipped Mosquitto the gateway uses mqtt://127.0.0.1:1883 and terminals the TLS listener, e.g. mqtts://gateway.local:8883. Same rules as url. Default: url.',
    ),
  passwordFile: z.string().min(1).optional().describe('File with the broker password (0600). Absent: no password.'),
  caFile: z.string().min(1).optional().describe("PEM file of extra trust anchors for an mqtts:// broker. Absent: the system's only."),
  certFile: z.string().min(1).optional().describe('PEM client certificate for a broker that requires one. Needs `keyFile`.'),
  keyFile: z.string().min(1).optional().describe('Its private key, PEM, mode 0600 (read as a secret file).'),
  ...mqttDashboardShape,
  brokerReload: brokerReloadSchema
    .optional()
    .describe('Reload the broker after the gateway changed its password file. Absent: no signal (the embedded broker rereads it itself).'),
});

export type MqttNotifierOptions = z.input<typeof mqttNotifierOptionsSchema>;
export type ResolvedMqttOptions = z.output<typeof mqttNotifierOptionsSchema>;
export type MqttConfig = z.output<typeof mqttConfigSchema>;
export type MqttTls = { ca?: string; cert?: string; key?: string };

/** Where terminals read their mail: `terminalUrl`, else the gateway's own `url`. */
export function terminalMailbox(config: MqttConfig): { url: string; topicPrefix: string } {
  return { url: config.terminalUrl ?? config.url, topicPrefix: config.topicPrefix };
}

/** The notifier's options from the configuration and the password read from its `passwordFile`. */
export function mqttOptionsFromConfig(config: MqttConfig, password: string | undefined, tls: MqttTls = {}): MqttNotifierOptions {
  const { url, clientId, username, topicPrefix, gatewayId, reconnectPeriodMs, reconnectMaxMs, connectTimeoutMs, keepaliveSeconds, inflight } = config;
  const options: MqttNotifierOptions = { url, clientId, topicPrefix, gatewayId, ...tls };
  const optional = { username, reconnectPeriodMs, reconnectMaxMs, connectTimeoutMs, keepaliveSeconds, inflight, password };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) (options as Record<string, unknown>)[k] = v;
  return options;
}
