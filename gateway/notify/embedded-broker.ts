/**
 * The embedded MQTT broker of the sandbox (`npm start`: nothing to install):
 * aedes on a plain TCP listener, 127.0.0.1 by default. Sessions, queued QoS 1
 * messages and retained messages live in memory, so they do not survive a
 * restart of the broker; the gateway's outbox does. A household's installation
 * points the gateway at its Mosquitto instead (deploy/mosquitto/).
 *
 * A taken port is a NotifyError('broker-port-in-use') that says which port and
 * what to do, instead of EADDRINUSE.
 *
 * With `passwordFile` (broker-users.ts; the sandbox always gives one) it
 * enforces what homegate.conf and deploy/mosquitto/acl enforce on Mosquitto,
 * by reading that same ACL file (broker-acl.ts): no anonymous clients, each
 * user only with its own client id, publishes checked as `write`,
 * subscriptions as `read` on the filter, and every delivery as `read` on its
 * topic. Without one it is open (tests of the transport only).
 */
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { Aedes, type Client } from 'aedes';
import { silentLogger, type Logger } from '../../card-io/base/log.js';
import { aclAllows, parseBrokerAcl, type BrokerAcl } from './broker-acl.js';
import { clientIdAllowed, readBrokerUsers, verifyBrokerPassword } from './broker-users.js';
import { DEFAULT_TOPIC_PREFIX } from './mqtt-options.js';
import { NotifyError } from './notify-error.js';

export interface EmbeddedBrokerOptions {
  /** Interface to listen on. Default 127.0.0.1 (without `passwordFile` the broker admits anyone). */
  host?: string;
  /** TCP port, 0..65 535 (0: any free port). Default 1883 (IANA "mqtt"). */
  port?: number;
  logger?: Logger;
  /** Mosquitto-format password file (broker-users.ts), read on every CONNECT. Absent: anyone may do anything. */
  passwordFile?: string;
  /** The gateway's first topic level (its `topicPrefix`), put in place of the ACL's `homegate`. Default `homegate`. */
  topicPrefix?: string;
  /** Mosquitto-format ACL file (read at start). Default: deploy/mosquitto/acl as shipped. */
  aclFile?: string;
}

/** deploy/mosquitto/acl, from dist/gateway/notify/ or gateway/notify/. */
export const SHIPPED_ACL_FILE = fileURLToPath(new URL('../../../deploy/mosquitto/acl', import.meta.url));

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
  let stopEnforcing: () => void = () => undefined;
  if (options.passwordFile !== undefined) {
    const acl = parseBrokerAcl(readFileSync(options.aclFile ?? shippedAcl(), 'utf8'), options.topicPrefix ?? DEFAULT_TOPIC_PREFIX);
    stopEnforcing = enforceUsers(aedes, options.passwordFile, acl, logger);
  }
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
      stopEnforcing();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      for (const socket of sockets) socket.destroy(); // aedes ended the sessions; nothing left to flush
      await closed;
      logger.info({ host, port }, 'Embedded MQTT broker stopped');
    })());

  return { host, port, url: `mqtt://${host.includes(':') ? `[${host}]` : host}:${port}`, aedes, stop };
}

/** MQTT 3.1.1 §3.2.2.3 CONNACK return codes. */
const BAD_USERNAME_OR_PASSWORD = 4;
const IDENTIFIER_REJECTED = 2;

function refuse(returnCode: number, message: string) {
  return Object.assign(new Error(message), { returnCode });
}

/** How often the password file is checked for removed users, in ms. */
const USERS_POLL_MS = 500;

/** Installs the user rules; returns the function that stops watching the password file. */
function enforceUsers(aedes: Aedes, passwordFile: string, acl: BrokerAcl, logger: Logger): () => void {
  const users = new WeakMap<object, string>();
  const connected = new Set<Client>();
  aedes.on('clientReady', (client) => connected.add(client));
  aedes.on('clientDisconnect', (client) => connected.delete(client));
  // A revoked terminal's user leaves the password file (removeBrokerUser): its
  // connected clients are cut at once, not only refused at their next connect.
  const dropRemovedUsers = () => {
    void readBrokerUsers(passwordFile)
      .then((hashes) => {
        for (const client of connected) {
          const username = users.get(client);
          if (username === undefined || hashes.has(username)) continue;
          logger.warn({ username, clientId: client.id }, 'MQTT user removed: its client is disconnected');
          client.close();
        }
      })
      .catch((e: unknown) => logger.error({ err: (e as Error).message }, 'MQTT password file unreadable'));
  };
  watchFile(passwordFile, { interval: USERS_POLL_MS, persistent: false }, dropRemovedUsers);
  aedes.authenticate = (client, username, password, done) => {
    void (async () => {
      const hashes = await readBrokerUsers(passwordFile);
      const hash = username === undefined ? undefined : hashes.get(username);
      // A wrong user is hashed against a dummy so the answer takes as long as for a wrong password.
      const ok = verifyBrokerPassword(hash ?? DUMMY_HASH, password?.toString('utf8') ?? '') && hash !== undefined;
      if (!ok || username === undefined) return done(refuse(BAD_USERNAME_OR_PASSWORD, 'bad user name or password'), false);
      if (!clientIdAllowed(username, client.id)) {
        logger.warn({ username, clientId: client.id }, 'MQTT client id of another user refused');
        return done(refuse(IDENTIFIER_REJECTED, 'this client id belongs to another user'), false);
      }
      users.set(client, username);
      done(null, true);
    })().catch((e: unknown) => {
      logger.error({ err: (e as Error).message }, 'MQTT password file unreadable; refusing the client');
      done(refuse(3, 'server unavailable'), false);
    });
  };
  aedes.authorizePublish = (client, packet, callback) => {
    const username = client === null ? undefined : users.get(client);
    if (client !== null && username !== undefined && aclAllows(acl, username, client.id, 'write', packet.topic)) return callback(null);
    logger.warn({ username, topic: packet.topic }, 'MQTT publish refused');
    callback(new Error(`publishing to ${packet.topic} is not allowed`));
  };
  aedes.authorizeSubscribe = (client, sub, callback) => {
    const username = users.get(client);
    if (username !== undefined && aclAllows(acl, username, client.id, 'subscribe', sub.topic)) return callback(null, sub);
    logger.warn({ username, topic: sub.topic }, 'MQTT subscription refused');
    callback(null, null); // SUBACK 0x80 for this filter
  };
  // Every delivery too, as Mosquitto: a granted filter never carries a topic the user may not read.
  aedes.authorizeForward = (client, packet) => {
    const username = users.get(client);
    return username !== undefined && aclAllows(acl, username, client.id, 'read', packet.topic) ? packet : null;
  };
  return () => unwatchFile(passwordFile, dropRemovedUsers);
}

function shippedAcl(): string {
  return SHIPPED_ACL_FILE;
}

const DUMMY_HASH = `$7$101$${Buffer.alloc(12).toString('base64')}$${Buffer.alloc(64).toString('base64')}`;

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
  const message = `The embedded MQTT broker cannot listen on ${host}:${port}: ${e.message}`;
  return new NotifyError('broker-start-failed', message, { host, port, errno: e.code }, { cause: e });
}
