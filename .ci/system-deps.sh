#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo use, when they are missing.
# LibreOffice renders forms and reports to PDF; PostgreSQL is the second database the
# tests run on; Dovecot is the real IMAP server the mail-in tests read from; headless Chromium
# opens the Prefect UI in tests/test_prefect_ui.py. Liberation Serif 2.x (fonts-liberation2,
# only a Recommends of LibreOffice) is the Times New Roman the reports are set in: metric-
# compatible, with Vietnamese. Liberation 1.07 (fonts-liberation) has no ế ạ ố ơ ư Ủ, which
# LibreOffice would draw in DejaVu, so the check is for the 2.x file, not the 1.07 one.
set -euo pipefail

need=()
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-writer-nogui)
[ -e /usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf ] || need+=(fonts-liberation2)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
[ -x /usr/sbin/dovecot ] || need+=(dovecot-imapd)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
[ -x /usr/bin/chromium ] || need+=(chromium)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${need[*]}" >&2
  echo "install them with: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The postgresql package may start a cluster of its own, and dovecot-imapd a Dovecot of its
# own; the tests use throwaway ones (their own ports and directories).
