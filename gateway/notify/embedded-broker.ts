/**
 * The embedded MQTT broker of the sandbox (`npm start`: nothing to install):
 * aedes on a plain TCP listener, 127.0.0.1 by default. Sessions, queued QoS 1
 * messages and retained messages live in memory, so they do not survive a
 * restart of the broker; the gateway's outbox does. A household's installation
 * points the gateway at its Mosquitto instead (deploy/mosquitto/).
 *
 * A taken port is a NotifyError('broker-port-in-use') that says which port and
 * what to do, instead of EADDRINUSE.
 */
import net from 'node:net';
import { Aedes } from 'aedes';
import { silentLogger, type Logger } from '../../card-io/log.js';
import { NotifyError } from './notify-error.js';

export interface EmbeddedBrokerOptions {
  /** Interface to listen on. Default 127.0.0.1: the sandbox broker has no authentication. */
  host?: string;
  /** TCP port, 0..65 535 (0: any free port). Default 1883 (IANA "mqtt"). */
  port?: number;
  logger?: Logger;
}

export interface EmbeddedBroker {
  readonly host: string;
  readonly port: number;
  /** `mqtt://host:port`, for the gateway's and the terminals' clients. */
  readonly url: string;
  /** The aedes instance (events such as 'publish' and 'clientReady', for tests and diagnostics). */
  readonly aedes: Aedes;
  /** Disconnects every client and stops listening; safe to call twice. */
  stop(): Promise<void>;
}

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = options.host ?? '127.0.0.1';
  const requestedPort = options.port ?? 1883;
  const logger = (options.logger ?? silentLogger).child({ component: 'mqtt-broker' });
  // drainTimeout: a client that stops reading is cut after 30 s instead of stalling delivery to everyone.
  const aedes = await Aedes.createBroker({ drainTimeout: 30_000 });
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    aedes.handle(socket);
  });
  aedes.on('clientReady', (client) => logger.debug({ clientId: client.id }, 'MQTT client connected'));
  aedes.on('clientError', (client, e) => logger.debug({ clientId: client.id, err: e.message }, 'MQTT client error'));

  try {
    await listen(server, host, requestedPort);
  } catch (e) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    throw listenError(e as NodeJS.ErrnoException, host, requestedPort);
  }
  const port = (server.address() as net.AddressInfo).port;
  logger.info({ host, port }, 'Embedded MQTT broker listening');

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      for (const socket of sockets) socket.destroy(); // aedes ended the sessions; nothing left to flush
      await closed;
      logger.info({ host, port }, 'Embedded MQTT broker stopped');
    })());

  return { host, port, url: `mqtt://${host.includes(':') ? `[${host}]` : host}:${port}`, aedes, stop };
}

function listen(server: net.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function listenError(e: NodeJS.ErrnoException, host: string, port: number): NotifyError {
  if (e.code === 'EADDRINUSE') {
    return new NotifyError(
      'broker-port-in-use',
      `Port ${port} on ${host} for the embedded MQTT broker is already in use (another broker, such as Mosquitto, may be running): ` +
        'choose another with --mqtt-port <port>, or point the gateway at an external broker with --mqtt <URL>',
      { host, port },
      { cause: e },
    );
  }
  return new NotifyError('broker-start-failed', `The embedded MQTT broker cannot listen on ${host}:${port}: ${e.message}`, { host, port, errno: e.code }, { cause: e });
}
