#!/usr/bin/env bash
# Builds build/porttrigger_<version>_<arch>.deb with dpkg-deb: the compiled code with its production
# dependencies under /usr/lib/porttrigger, /usr/bin/porttrigger, the systemd unit, and the example config as
# the conffile /etc/porttrigger/config.yaml. better-sqlite3 is a native module, so the package is built for
# this machine's architecture (dpkg --print-architecture) and must be built on (or for) the gateway's.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(node -p 'require("./package.json").version')
arch=$(dpkg --print-architecture)
out=build
root="$out/porttrigger_${version}_${arch}"
lib="$root/usr/lib/porttrigger"

rm -rf "$root"
mkdir -p "$lib" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/porttrigger" \
  "$root/usr/share/doc/porttrigger" "$root/DEBIAN"

# The compiled code and the production dependencies only (devDependencies pruned from a copy).
cp -a dist "$lib/dist"
rm -f "$lib/dist/.build-stamp"
cp package.json package-lock.json "$lib/"
cp -a node_modules "$lib/node_modules"
(cd "$lib" && npm prune --omit=dev --no-audit --no-fund --loglevel=error >&2)
rm -f "$lib/package-lock.json"
# Build leftovers of the native module (object files, a copy of SQLite's sources) are not needed to run.
rm -rf "$lib/node_modules/better-sqlite3/deps" "$lib/node_modules/better-sqlite3/src" \
  "$lib/node_modules/better-sqlite3/build/Release/obj" "$lib/node_modules/better-sqlite3/build/Release/.deps" \
  "$lib/node_modules/better-sqlite3/build/Release/obj.target"
chmod 0755 "$lib/dist/cli/main.js" "$lib/dist/main/daemon.js"
ln -s ../lib/porttrigger/dist/cli/main.js "$root/usr/bin/porttrigger"

install -m 0644 contrib/porttrigger.service "$root/lib/systemd/system/porttrigger.service"
install -m 0644 examples/gateway.yaml "$root/etc/porttrigger/config.yaml"
install -m 0644 README.md "$root/usr/share/doc/porttrigger/README.md"
install -m 0644 docs/*.md "$root/usr/share/doc/porttrigger/"
printf 'porttrigger\nLicense: MIT\n' >"$root/usr/share/doc/porttrigger/copyright"

installed_kb=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: porttrigger
Version: ${version}
Architecture: ${arch}
Maintainer: porttrigger maintainers <root@localhost>
Installed-Size: ${installed_kb}
Depends: nodejs (>= 20), nftables, conntrack
Section: net
Priority: optional
Homepage: https://github.com/porttrigger/porttrigger
Description: port triggering for Linux gateways
 nftables does the packet work (dynamic sets with timeouts, DNAT through map
 lookups); porttrigger is the control plane: rules, validation, a REST API,
 a web panel and an event history.
CONTROL
echo /etc/porttrigger/config.yaml >"$root/DEBIAN/conffiles"

cat >"$root/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
# Not enabled on install: the config names this gateway's interfaces, which only its owner knows.
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
POSTINST
cat >"$root/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
set -e
# Stopping removes the table inet porttrigger (and only it).
if [ -d /run/systemd/system ]; then
  systemctl disable --now porttrigger.service >/dev/null 2>&1 || true
fi
exit 0
PRERM
cat >"$root/DEBIAN/postrm" <<'POSTRM'
#!/bin/sh
set -e
if [ "$1" = purge ]; then
  # The API token and the event history; dpkg removes the conffile, the API's .bak copies go too.
  rm -rf /var/lib/porttrigger
  rm -f /etc/porttrigger/config.yaml.bak /etc/porttrigger/.config.yaml.*.tmp
  rmdir /etc/porttrigger 2>/dev/null || true
fi
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
POSTRM
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"

deb="$out/porttrigger_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$root" "$deb" >&2
rm -rf "$root"
echo "$deb"
