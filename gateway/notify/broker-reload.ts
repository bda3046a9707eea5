/**
 * Tells the household's Mosquitto to reread its password file after the
 * gateway changed it (an enrollment added a terminal's user, a revocation
 * removed one): SIGHUP to the pid in its `pid_file` (Mosquitto rereads
 * `password_file` and `acl_file` on SIGHUP, mosquitto(8)). The embedded broker
 * needs none: it reads the file on every CONNECT.
 *
 * Never throws: a broker that is not running or a stale pid file is logged
 * and the change takes effect at the broker's next start.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from '../../card-io/base/log.js';

export async function reloadBroker(pidFile: string, logger: Logger): Promise<boolean> {
  try {
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    if (!Number.isInteger(pid) || pid <= 1) throw new Error(`no process id in ${pidFile}`);
    process.kill(pid, 'SIGHUP');
    logger.info({ pid }, 'MQTT broker told to reread its password file (SIGHUP)');
    return true;
  } catch (e) {
    logger.warn({ pidFile, err: (e as Error).message }, 'could not signal the MQTT broker; it reads the password file at its next start');
    return false;
  }
}
