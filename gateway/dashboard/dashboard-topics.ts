/**
 * The dashboard's topics (docs/MQTT.md), all under `<prefix>/gateway/` so one
 * ACL pattern line covers what every user may read:
 *
 *   <prefix>/gateway/availability        retained online/offline (Last Will)
 *   <prefix>/gateway/state               retained JSON, coalesced
 *   <prefix>/gateway/events              not retained, one JSON per event
 *   <prefix>/gateway/request/<command>   { transaction } from a dashboard
 *   <prefix>/gateway/response/<command>  { transaction, status, data | error }
 *   <discovery>/device/<node>/config     Home Assistant device discovery
 *
 * Commands may have two levels (`outbox/retry`), as in zigbee2mqtt's
 * `bridge/request/device/remove`.
 */
export interface DashboardTopics {
  readonly availability: string;
  readonly state: string;
  readonly events: string;
  /** The filter the gateway subscribes to for requests. */
  readonly requests: string;
  /** Where Home Assistant says it (re)started: `online` → republish discovery and state. */
  readonly homeAssistantStatus: string;
  readonly discovery: string;
  /** HA's node id of this gateway: `homegate-<prefix>`, [A-Za-z0-9_-]. */
  readonly nodeId: string;
  request(command: string): string;
  response(command: string): string;
  /** The command a request topic names, or undefined for a topic outside the request tree. */
  commandOf(topic: string): string | undefined;
}

export function dashboardTopics(topicPrefix: string, discoveryPrefix: string): DashboardTopics {
  const base = `${topicPrefix}/gateway`;
  const nodeId = `homegate-${topicPrefix}`.replace(/[^A-Za-z0-9_-]/g, '_');
  const requestBase = `${base}/request/`;
  return {
    availability: `${base}/availability`,
    state: `${base}/state`,
    events: `${base}/events`,
    requests: `${requestBase}#`,
    homeAssistantStatus: `${discoveryPrefix}/status`,
    discovery: `${discoveryPrefix}/device/${nodeId}/config`,
    nodeId,
    request: (command) => `${requestBase}${command}`,
    response: (command) => `${base}/response/${command}`,
    commandOf: (topic) => (topic.startsWith(requestBase) && topic.length > requestBase.length ? topic.slice(requestBase.length) : undefined),
  };
}
