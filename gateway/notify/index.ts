/**
 * The notifier (claim 4): every payment decision, cancel and top-up "mailed"
 * to the requesting terminal's owner over MQTT (and SMTP when configured),
 * through a durable outbox; and the sandbox's embedded MQTT broker.
 */
export * from './notify-error.js';
export * from './notification.js';
export * from './outbox.js';
export * from './notifier.js';
export { MqttNotifier, mailTopic, type MqttNotifierOptions } from './mqtt-notifier.js';
export { SmtpNotifier, type SmtpNotifierOptions } from './smtp-notifier.js';
export * from './embedded-broker.js';
export * from './mqtt-options.js';
export * from './smtp-options.js';
