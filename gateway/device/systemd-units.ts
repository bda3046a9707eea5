/**
 * What the flashed system needs from systemd, written as files so it works on
 * a mounted SD card as well as on a running board (no `systemctl` needed):
 * the units in /etc/systemd/system, their `enable` symlinks in
 * multi-user.target.wants (what `systemctl enable` creates for
 * `WantedBy=multi-user.target`), and a drop-in that binds the service to the
 * card's serial device, from gateway.json: the gateway starts once the device
 * appears and stops when it goes (systemd.unit(5) BindsTo=; a tty is a device
 * unit because udev tags it "systemd", 99-systemd.rules).
 */
import { dirname, join } from 'node:path';

/** systemd-escape --path (systemd.unit(5), "String Escaping for Inclusion in Unit Names"). */
export function escapeUnitPath(path: string): string {
  const trimmed = path.replace(/\/+/g, '/').replace(/^\/|\/$/g, '');
  if (trimmed === '') return '-';
  let out = '';
  for (const [i, ch] of [...trimmed].entries()) {
    if (ch === '/') out += '-';
    else if (/[A-Za-z0-9:_]/.test(ch) || (ch === '.' && i > 0)) out += ch;
    else out += [...Buffer.from(ch, 'utf8')].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');
  }
  return out;
}

/** The device unit of a card line, or undefined for a tcp:// line (nothing to wait for). */
export function cardDeviceUnit(cardDevice: string): string | undefined {
  if (!cardDevice.startsWith('/dev/')) return undefined;
  return `${escapeUnitPath(cardDevice)}.device`;
}

/** The drop-in homegate.service.d/card-device.conf for the configured card line. */
export function cardDeviceDropIn(cardDevice: string): string {
  const unit = cardDeviceUnit(cardDevice);
  const head = `# Written by homegate provision device from gateway.json's card.device (${cardDevice}).\n`;
  if (unit === undefined) return `${head}# A tcp:// card line: no local device to wait for.\n[Unit]\n`;
  return `${head}[Unit]\nBindsTo=${unit}\nAfter=${unit}\n`;
}

export const UNIT_DIR = 'etc/systemd/system';
export const SERVICE = 'homegate.service';
export const FIRST_BOOT_SERVICE = 'homegate-first-boot.service';

/** Files (relative to the root) and symlinks that enable both units; targets are absolute paths on the device. */
export function enableLinks(): Array<{ link: string; target: string }> {
  return [SERVICE, FIRST_BOOT_SERVICE].map((u) => ({ link: join(UNIT_DIR, 'multi-user.target.wants', u), target: `/${join(UNIT_DIR, u)}` }));
}

export const DROP_IN = join(UNIT_DIR, `${SERVICE}.d`, 'card-device.conf');
export const DROP_IN_DIR = dirname(DROP_IN);
