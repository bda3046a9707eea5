/**
 * Home Assistant MQTT device discovery (HA 2024.11+): one retained message on
 * `<discovery prefix>/device/<node id>/config` describes the gateway as one
 * device (`dev`), the software that publishes it (`o`) and its entities
 * (`cmps`, each with its platform `p` and a `unique_id`). An empty retained
 * payload on that topic removes the device and all its entities
 * (`homegate gateway decommission`).
 *
 * Every entity but connectivity is unavailable while the gateway is offline
 * (its `availability_topic`); connectivity is the availability itself, so it
 * shows "disconnected" instead of "unavailable".
 */
import type { DashboardTopics } from './dashboard-topics.js';
import { CARD_STATES } from './dashboard-state.js';

export interface DiscoveryOptions {
  topics: DashboardTopics;
  version: string;
  /** Include the balance sensor (the household opted in). */
  publishBalance: boolean;
  /** The purse's currency (unit of the monetary sensors). */
  currency: string;
  configurationUrl?: string;
}

type Component = Record<string, unknown> & { p: string; unique_id: string; name: string };

/** The discovery payload (an object; published as JSON). */
export function discoveryPayload(o: DiscoveryOptions): { dev: Record<string, unknown>; o: Record<string, unknown>; cmps: Record<string, Component> } {
  const { topics } = o;
  const id = (object: string) => `${topics.nodeId}_${object}`;
  const available = { availability_topic: topics.availability, payload_available: 'online', payload_not_available: 'offline' };
  const fromState = (template: string) => ({ ...available, state_topic: topics.state, value_template: template });
  // No transaction in a button's payload: HA sends the same payload at every press, and a
  // transaction seen before would be answered as a duplicate without running the command again.
  const button = (command: string) => ({
    ...available,
    command_topic: topics.request(command),
    payload_press: '{}',
  });
  const cmps: Record<string, Component> = {
    connectivity: {
      p: 'binary_sensor',
      unique_id: id('connectivity'),
      name: 'Connectivity',
      device_class: 'connectivity',
      entity_category: 'diagnostic',
      state_topic: topics.availability,
      payload_on: 'online',
      payload_off: 'offline',
    },
    card_present: {
      p: 'binary_sensor',
      unique_id: id('card_present'),
      name: 'Home card',
      device_class: 'presence',
      ...fromState("{{ 'ON' if value_json.card.present else 'OFF' }}"),
    },
    card_state: {
      p: 'sensor',
      unique_id: id('card_state'),
      name: 'Card state',
      device_class: 'enum',
      options: [...CARD_STATES],
      ...fromState('{{ value_json.card.state }}'),
    },
    pin1_tries: {
      p: 'sensor',
      unique_id: id('pin1_tries'),
      name: 'PIN1 tries left',
      entity_category: 'diagnostic',
      ...fromState('{{ value_json.card.pin1TriesLeft }}'),
    },
    pin2_tries: {
      p: 'sensor',
      unique_id: id('pin2_tries'),
      name: 'PIN2 tries left',
      entity_category: 'diagnostic',
      ...fromState('{{ value_json.card.pin2TriesLeft }}'),
    },
    last_payment: {
      p: 'sensor',
      unique_id: id('last_payment'),
      name: 'Last payment',
      device_class: 'monetary',
      unit_of_measurement: o.currency,
      ...fromState('{{ value_json.lastDecision.amount if value_json.lastDecision else None }}'),
      json_attributes_topic: topics.state,
      json_attributes_template: '{{ (value_json.lastDecision or {}) | tojson }}',
    },
    outbox_depth: {
      p: 'sensor',
      unique_id: id('outbox_depth'),
      name: 'Mail outbox',
      entity_category: 'diagnostic',
      state_class: 'measurement',
      unit_of_measurement: 'messages',
      ...fromState('{{ value_json.outbox.depth }}'),
    },
    lock_card: { p: 'button', unique_id: id('lock_card'), name: 'Lock card', icon: 'mdi:credit-card-lock', ...button('lock-card') },
    identify: { p: 'button', unique_id: id('identify'), name: 'Identify', device_class: 'identify', entity_category: 'config', ...button('identify') },
  };
  if (o.publishBalance) {
    cmps.balance = {
      p: 'sensor',
      unique_id: id('balance'),
      name: 'Purse balance',
      device_class: 'monetary',
      unit_of_measurement: o.currency,
      ...fromState('{{ value_json.balance.amount if value_json.balance else None }}'),
    };
  }
  const dev: Record<string, unknown> = {
    ids: [topics.nodeId],
    name: 'homegate',
    mf: 'homegate',
    mdl: 'Home gateway',
    sw: o.version,
    ...(o.configurationUrl ? { cu: o.configurationUrl } : {}),
  };
  return { dev, o: { name: 'homegate', sw: o.version }, cmps };
}
