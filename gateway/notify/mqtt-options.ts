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
  /** Broker URL (mqttUrlSchema). Required. */
  url: mqttUrlSchema,
  /** MQTT client id, 1..128 characters. Default homegate-gateway. Two gateways on one broker need two ids. */
  clientId: z.string().min(1).max(128).default(DEFAULT_MQTT_CLIENT_ID),
  /** Broker user name. Absent: anonymous (the embedded broker and homegate.conf refuse that). */
  username: z.string().min(1).optional(),
  /** First topic level of everything the gateway publishes (topicPrefixSchema). Default homegate. */
  topicPrefix: topicPrefixSchema.default(DEFAULT_TOPIC_PREFIX),
};

/** How the client paces itself; only the notifier reads these. */
export const mqttTuningShape = {
  /** Delay between reconnect attempts, ms, 100..3 600 000. Default 5000. */
  reconnectPeriodMs: z.number().int().min(100).max(3_600_000).default(5000),
  /** How long to wait for CONNACK, ms, 100..120 000. Default 10 000. */
  connectTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  /** MQTT keep-alive, s, 0..65 535 (a 16-bit field, MQTT 3.1.1 §3.1.2.10). Default 60. */
  keepaliveSeconds: z.number().int().min(0).max(65_535).default(60),
  /** QoS 1 publishes awaiting PUBACK at once, 1..1000. Default 16. */
  inflight: z.number().int().min(1).max(1000).default(16),
};

/** What the notifier is given: the connection, its tuning and the password itself. */
export const mqttNotifierOptionsSchema = z.strictObject({ ...mqttConnectionShape, ...mqttTuningShape, password: z.string().optional() });

/**
 * gateway.json's `mqtt` section: the connection plus the file holding the
 * password (0600). The tuning options have the same rules but stay unset when
 * not given, so the notifier applies its defaults (the only place they live).
 */
export const mqttConfigSchema = z.strictObject({
  ...mqttConnectionShape,
  reconnectPeriodMs: mqttTuningShape.reconnectPeriodMs.unwrap().optional(),
  connectTimeoutMs: mqttTuningShape.connectTimeoutMs.unwrap().optional(),
  keepaliveSeconds: mqttTuningShape.keepaliveSeconds.unwrap().optional(),
  inflight: mqttTuningShape.inflight.unwrap().optional(),
  passwordFile: z.string().min(1).optional(),
});

export type MqttNotifierOptions = z.input<typeof mqttNotifierOptionsSchema>;
export type ResolvedMqttOptions = z.output<typeof mqttNotifierOptionsSchema>;
export type MqttConfig = z.output<typeof mqttConfigSchema>;

/** The notifier's options from the configuration and the password read from its `passwordFile`. */
export function mqttOptionsFromConfig(config: MqttConfig, password: string | undefined): MqttNotifierOptions {
  const { passwordFile: _file, ...options } = config;
  return password === undefined ? options : { ...options, password };
}
