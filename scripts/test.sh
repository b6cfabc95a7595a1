#!/usr/bin/env bash
# The one command that runs every test (README: "npm test"). On a fresh Debian machine as root it
# first installs the system tools the tests drive; elsewhere it says what is missing and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(rpm createrepo-c dnf zypper gnupg ceph-mon ceph-osd radosgw apt-utils dpkg-dev sqlite3 xz-utils zstd zchunk curl jq clamav-daemon
  python3-dateutil python3-dbus nginx chromium s3cmd)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# dnf reposync lives in dnf-plugins-core, which declares Breaks: zypper on Debian 12: it is unpacked
# beside the system (scripts/dnf-plugins.sh) instead of installed.
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "repod tests need these Debian packages: ${missing[*]}" >&2
    echo "run this command as root on Debian (it installs them), or install them yourself" >&2
    exit 2
  fi
  echo "installing test tools: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Tests start the daemons they need on 127.0.0.1 (nginx, ceph): packages must not start theirs
  # (an nginx on port 80, say) on the way in.
  no_start=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && no_start=1
  fi
  apt-get install -y -qq "${missing[@]}" >/dev/null
  [ -z "$no_start" ] || rm -f /usr/sbin/policy-rc.d
fi
bash scripts/dnf-plugins.sh >/dev/null

[ -d node_modules ] || npm ci --no-audit --no-fund
# Formatting and lint rules (biome.json: node:* only at the Node edges), then types, then tests.
npx biome ci --error-on-warnings .
npx tsc -p . --noEmit
node scripts/run-tests.mjs "$@"
