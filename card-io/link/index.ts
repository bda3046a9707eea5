/** The byte link layer of card-io: interfaces, transports, the reconnecting link, addresses. */
export type { ByteLink, LinkStatus, Transport, TransportFactory, TransportHandlers } from './link.js';
export { Listeners } from './listeners.js';
export { MemoryLink, createMemoryLinkPair, type Direction, type FaultHook, type MemoryLinkPair } from './memory-link.js';
export { DEFAULT_BACKOFF, backoffDelay, resolveBackoff, type BackoffOptions, type ResolvedBackoff } from './backoff.js';
export { ReconnectingLink, type ReconnectingLinkOptions, type Scheduler } from './reconnecting-link.js';
export { DEFAULT_BAUD_RATE, serialTransportFactory, type SerialTransportOptions } from './serial-transport.js';
export {
  DEFAULT_CONNECT_TIMEOUT_MS,
  createTcpListener,
  formatTcpAddress,
  tcpClientTransportFactory,
  type TcpClientOptions,
  type TcpEndpoint,
  type TcpListener,
} from './tcp-transport.js';
export { hexDump, traceBytes, type TraceDirection } from './trace.js';
export { openCardSideLink, openLink, parseLinkAddress, type LinkAddress, type OpenLinkOptions } from './open-link.js';
