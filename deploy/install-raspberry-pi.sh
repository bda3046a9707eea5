#!/usr/bin/env bash
# Install homegate on Raspberry Pi OS as root, from a checkout of this repository:
#   sudo deploy/install-raspberry-pi.sh [card-device]
# Installs to /opt/homegate, data in /var/lib/homegate, runs as user "homegate".
set -euo pipefail
device="${1:-/dev/homegate-card}"
src="$(cd "$(dirname "$0")/.." && pwd)"
command -v node >/dev/null || { echo "Node.js 20.19 or newer is required (apt-get install nodejs)"; exit 1; }
# libgpiod's command-line tools drive the panel's GPIO (panel.plugin "linux-gpio"): nothing native is compiled.
command -v gpioset >/dev/null || apt-get install -y gpiod
id homegate >/dev/null 2>&1 || useradd --system --home /var/lib/homegate --shell /usr/sbin/nologin homegate
getent group gpio >/dev/null || groupadd --system gpio
mkdir -p /opt/homegate
cp -a "$src"/{package.json,package-lock.json,tsconfig.json,bin,card-io,gateway,provisioning,deploy,README.md} /opt/homegate/
cd /opt/homegate
npm ci            # builds dist/ once (prepare)
npm prune --omit=dev
install -m 0644 deploy/udev/99-homegate-card.rules /etc/udev/rules.d/
udevadm control --reload-rules && udevadm trigger || true
install -m 0644 deploy/systemd/homegate.service /etc/systemd/system/
install -d -o homegate -g homegate -m 0700 /var/lib/homegate
sudo -u homegate HOMEGATE_DATA=/var/lib/homegate node bin/homegate.js gateway init --card-device "$device"
systemctl daemon-reload
systemctl enable --now homegate
echo "homegate installed; status: systemctl status homegate; logs: journalctl -u homegate"
