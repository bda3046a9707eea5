#!/bin/sh
# homegate's first-boot script: run as root by homegate-first-boot.service before the gateway,
# on every boot (it is idempotent: it checks each item and fixes only what is missing), or by
# hand: sudo /opt/homegate/current/deploy/first-boot.sh
#
# It sets up what the bundle written by `homegate provision device` cannot carry as files:
#   - the service user "homegate" and its groups (dialout: the serial line; gpio: LEDs, button);
#   - /var/lib/homegate owned by it, folders 0700, files 0600; /opt/homegate (the software)
#     owned by root and readable by its group only (0750/0640), so it cannot change what root runs;
#   - the UART for the home card: enable_uart=1 in config.txt, and the serial console taken off
#     it (console=serial0 removed from cmdline.txt, the serial getty masked). Raspberry Pi OS
#     keeps both in /boot/firmware (bookworm) or /boot (older releases).
# What it cannot fix it says, and goes on: the gateway then reports the card line itself.
#
# ROOT=/path runs it against a root file system other than / (a mounted SD card, tests): every
# file is looked up under ROOT, useradd/groupadd/usermod get --root, and nothing is started.
set -eu
ROOT="${ROOT:-}"
USER_NAME=homegate
DATA="$ROOT/var/lib/homegate"
OPT="$ROOT/opt/homegate"
changed_boot=0
problems=0

say() { echo "homegate first boot: $*"; }
warn() { echo "homegate first boot: WARNING: $*" >&2; problems=$((problems + 1)); }
rootopt() { if [ -n "$ROOT" ]; then echo "--root $ROOT"; fi; }

# --- the service user and its groups ----------------------------------------------------------
has_group() { grep -q "^$1:" "$ROOT/etc/group" 2>/dev/null; }
in_group() { grep -q "^$1:[^:]*:[^:]*:\(.*,\)\{0,1\}$USER_NAME\(,.*\)\{0,1\}$" "$ROOT/etc/group" 2>/dev/null; }

if ! grep -q "^$USER_NAME:" "$ROOT/etc/passwd" 2>/dev/null; then
  # shellcheck disable=SC2046
  useradd $(rootopt) --system --user-group --home-dir /var/lib/homegate --no-create-home --shell /usr/sbin/nologin "$USER_NAME"
  say "created the system user $USER_NAME"
fi
for g in dialout gpio; do
  if ! has_group "$g"; then
    # shellcheck disable=SC2046
    groupadd $(rootopt) --system "$g"
    say "created the group $g"
  fi
  if ! in_group "$g"; then
    # shellcheck disable=SC2046
    usermod $(rootopt) --append --groups "$g" "$USER_NAME"
    say "added $USER_NAME to $g"
  fi
done

# --- folders and ownership: numeric ids from the root's own passwd, not this machine's ----------
ids="$(awk -F: -v u="$USER_NAME" '$1 == u { print $3 ":" $4 }' "$ROOT/etc/passwd")"
if [ -z "$ids" ]; then
  warn "user $USER_NAME is not in $ROOT/etc/passwd after useradd; cannot hand the files over"
else
  mkdir -p "$DATA"
  chmod 0700 "$DATA"
  chown -R "$ids" "$DATA"
  # Nobody but the service user reads keys and state (a file copied in by hand included).
  chmod -R go-rwx "$DATA"
  if [ -d "$OPT" ]; then
    # The software: root's, readable by the service's group only, writable by nobody else. The
    # service user must not be able to change code that root runs (this script at every boot,
    # `sudo homegate gateway rollback`): files 0640, folders and executables 0750.
    chown -R "0:${ids#*:}" "$OPT"
    chmod -R u+rwX,g+rX,g-w,o-rwx "$OPT"
  fi
fi

# --- the UART for the card, freed from the serial console --------------------------------------
boot=""
for d in "$ROOT/boot/firmware" "$ROOT/boot"; do
  if [ -f "$d/config.txt" ]; then boot="$d"; break; fi
done
if [ -z "$boot" ]; then
  warn "no config.txt in $ROOT/boot/firmware or $ROOT/boot (not Raspberry Pi OS?): enable the UART for the card and take the serial console off it yourself (docs/OPERATOR.md, \"The UART\")"
else
  if grep -q '^enable_uart=1' "$boot/config.txt"; then
    :
  elif grep -q '^enable_uart=' "$boot/config.txt"; then
    sed -i 's/^enable_uart=.*/enable_uart=1/' "$boot/config.txt"
    changed_boot=1
    say "set enable_uart=1 in $boot/config.txt"
  else
    # [all]: whatever conditional section the file ends in, this line applies to every board.
    printf '\n[all]\n# homegate: the home card on the GPIO UART\nenable_uart=1\n' >>"$boot/config.txt"
    changed_boot=1
    say "added enable_uart=1 to $boot/config.txt"
  fi
  if [ -f "$boot/cmdline.txt" ]; then
    if grep -Eq '(^| )console=(serial0|serial1|ttyAMA0|ttyS0)(,[^ ]*)?( |$)' "$boot/cmdline.txt"; then
      sed -E -i 's/(^| )console=(serial0|serial1|ttyAMA0|ttyS0)(,[^ ]*)?( |$)/\1/g; s/  +/ /g; s/^ //' "$boot/cmdline.txt"
      changed_boot=1
      say "took the serial console off the UART in $boot/cmdline.txt"
    fi
  else
    warn "no cmdline.txt in $boot: check that the kernel console is not on the card's UART (console=serial0)"
  fi
fi
# A login prompt on the card's line would answer the card: mask the serial gettys.
mkdir -p "$ROOT/etc/systemd/system"
for tty in ttyAMA0 ttyS0 serial0; do
  unit="$ROOT/etc/systemd/system/serial-getty@$tty.service"
  if [ "$(readlink "$unit" 2>/dev/null || true)" != /dev/null ]; then
    ln -sfn /dev/null "$unit"
    say "masked serial-getty@$tty.service"
  fi
done

# --- on the running board: take the changes into use --------------------------------------------
if [ -z "$ROOT" ]; then
  if command -v udevadm >/dev/null 2>&1; then udevadm control --reload-rules && udevadm trigger --subsystem-match=tty || true; fi
  if command -v systemctl >/dev/null 2>&1; then systemctl daemon-reload || true; fi
fi
if [ "$changed_boot" = 1 ]; then
  say "the UART settings changed: reboot once for them to apply (sudo reboot)"
fi
if [ "$problems" -gt 0 ]; then say "done, with $problems warning(s) above"; else say "done"; fi
