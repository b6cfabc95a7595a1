#!/usr/bin/env bash
# Unpacks Debian's dnf-plugins-core (reposync) into .tools/dnf-plugins without installing it:
# the package declares Breaks: zypper on Debian 12. Prints the directory: use
# --setopt=pluginpath=DIR/plugins with PYTHONPATH=DIR/root/usr/lib/python3/dist-packages.
set -euo pipefail
cd "$(dirname "$0")/.."
dest="$PWD/.tools/dnf-plugins"
if [ ! -f "$dest/.complete" ]; then
  rm -rf "$dest" && mkdir -p "$dest/debs"
  (cd "$dest/debs" && apt-get download dnf-plugins-core >/dev/null 2>&1) || {
    apt-get update -qq && (cd "$dest/debs" && apt-get download dnf-plugins-core >/dev/null)
  }
  for deb in "$dest"/debs/*.deb; do dpkg -x "$deb" "$dest/root"; done
  # Only reposync: the other plugins (versionlock, ...) need configuration of their own.
  mkdir -p "$dest/plugins"
  cp "$dest/root/usr/lib/python3/dist-packages/dnf-plugins/reposync.py" "$dest/plugins/"
  touch "$dest/.complete"
fi
echo "$dest"
