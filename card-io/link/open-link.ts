/**
 * From an address string in the configuration to a running ByteLink, so the
 * gateway and the emulator open a serial device and a ser2net-style socket
 * the same way (one code path, the transport injected).
 *
 * Addresses:
 *   tcp://host:port, tcp://[::1]:port  raw TCP byte stream (ser2net "raw" mode)
 *   /absolute/path                      a serial device: /dev/serial0, /dev/ttyUSB0,
 *                                       /dev/serial/by-id/..., a pty link
 * Anything else is rejected at once with CardError(InvalidLinkAddress): a
 * typo such as "localhost:2000" would otherwise be retried as a device path forever.
 */
import { CardError, CardErrorCode } from '../errors.js';
import type { Logger } from '../base/log.js';
import type { BackoffOptions } from './backoff.js';
import type { ByteLink } from './link.js';
import { ReconnectingLink } from './reconnecting-link.js';
import { serialTransportFactory } from './serial-transport.js';
import { createTcpListener, formatTcpAddress, tcpClientTransportFactory } from './tcp-transport.js';

export type LinkAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'serial'; path: string };

export interface OpenLinkOptions {
  /** Structured logger; default silent. */
  logger?: Logger;
  /** Serial only: line speed in bits/s; default 115200. Framing is 8N1. */
  baudRate?: number;
  /** TCP client only: ms one connect attempt may take; default 5000. */
  connectTimeoutMs?: number;
  /** Reopen delays; see backoff.ts (defaults 100 ms doubling to 5000 ms, 20 % jitter). */
  backoff?: BackoffOptions;
  /** Hex-dump every byte at trace level; default false (dumps may show PINs). */
  traceBytes?: boolean;
}

const TCP_ADDRESS = /^tcp:\/\/(\[[0-9a-f:.]+\]|[^\s:/?#@[\]]+):(\d{1,5})$/i;
const SCHEME = /^[a-zA-Z][a-zA-Z0-9+.-]*:/;

/** Parses an address; throws CardError(InvalidLinkAddress) with the reason in context. */
export function parseLinkAddress(address: string): LinkAddress {
  const invalid = (reason: string): CardError =>
    new CardError(CardErrorCode.InvalidLinkAddress, `Invalid link address "${address}": ${reason}`, { address, reason });
  if (address.toLowerCase().startsWith('tcp:')) {
    const m = TCP_ADDRESS.exec(address);
    if (!m) throw invalid('expected tcp://host:port');
    const port = Number(m[2]);
    if (port < 1 || port > 65535) throw invalid('port must be in 1..65535');
    return { kind: 'tcp', host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
  }
  if (SCHEME.test(address)) throw invalid('unsupported scheme; use tcp://host:port or a device path');
  if (!address.startsWith('/')) throw invalid('a serial device must be an absolute path, e.g. /dev/ttyUSB0');
  if (address.includes('\0')) throw invalid('path contains a NUL byte');
  return { kind: 'serial', path: address };
}

/** The gateway side: connects to tcp://host:port, or opens a serial device. Starts connecting at once. */
export function openLink(address: string, options: OpenLinkOptions = {}): ByteLink {
  const parsed = parseLinkAddress(address);
  if (parsed.kind === 'tcp') {
    const factory = tcpClientTransportFactory({ ...parsed, connectTimeoutMs: options.connectTimeoutMs });
    return new ReconnectingLink({ ...linkOptions(options), factory, address: formatTcpAddress(parsed) });
  }
  return openSerial(parsed.path, options);
}

/**
 * The card side (the emulator): serves tcp://host:port to one peer at a time
 * (a second host is refused while one is attached; see createTcpListener), or opens a
 * serial device. Status is 'connected' while a peer is attached.
 */
export function openCardSideLink(address: string, options: OpenLinkOptions = {}): ByteLink {
  const parsed = parseLinkAddress(address);
  if (parsed.kind === 'tcp') {
    const listener = createTcpListener(parsed, options.logger);
    return new ReconnectingLink({
      ...linkOptions(options),
      factory: listener.factory,
      address: formatTcpAddress(parsed),
      release: () => listener.close(),
    });
  }
  return openSerial(parsed.path, options);
}

function openSerial(path: string, options: OpenLinkOptions): ByteLink {
  const factory = serialTransportFactory({ path, baudRate: options.baudRate });
  return new ReconnectingLink({ ...linkOptions(options), factory, address: path });
}

function linkOptions(options: OpenLinkOptions): { logger?: Logger; backoff?: BackoffOptions; traceBytes?: boolean } {
  return { logger: options.logger, backoff: options.backoff, traceBytes: options.traceBytes };
}
