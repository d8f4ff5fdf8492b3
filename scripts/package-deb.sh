#!/usr/bin/env bash
# Builds build/porttrigger_<version>_<arch>.deb with dpkg-deb: the compiled code (no source maps) with the
# packages it needs at run time under /usr/lib/porttrigger, /usr/bin/porttrigger, the systemd unit, the panel's
# static files, the conffile /etc/porttrigger/config.yaml (commented examples, no rule), porttrigger(8) made
# from the CLI's help, a DEP-5 copyright file listing every bundled npm package, and the changelog.
# better-sqlite3 and the set reader (dist/native/, linked to libnftnl and libmnl) are native, so the package is
# built for this machine's architecture
# (dpkg --print-architecture) and must be built on (or for) the gateway's.
# PORTTRIGGER_DEB_VERSION builds another version of the same checkout (a local build, e.g. to try an upgrade).
set -euo pipefail
cd "$(dirname "$0")/.."

upstream=$(node -p 'require("./package.json").version')
released=$(sed -n '1s/^porttrigger (\([^)]*\)).*/\1/p' contrib/debian/changelog)
if [ "$released" != "$upstream" ]; then
  echo "package-deb: package.json says $upstream, contrib/debian/changelog $released: add a changelog entry" >&2
  exit 1
fi
version=${PORTTRIGGER_DEB_VERSION:-$upstream}
arch=$(dpkg --print-architecture)
out=build
root="$out/porttrigger_${version}_${arch}"
lib="$root/usr/lib/porttrigger"
doc="$root/usr/share/doc/porttrigger"

rm -rf "$root"
mkdir -p "$lib" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/porttrigger" "$doc" \
  "$root/usr/share/man/man8" "$root/DEBIAN"

# The compiled code without source maps, and only the npm packages the running service loads.
if [ ! -x dist/native/porttrigger-set-reader ]; then
  echo "package-deb: dist/native/porttrigger-set-reader is missing: run npm run build" >&2
  exit 1
fi
cp -a dist "$lib/dist"
rm -f "$lib/dist/.build-stamp"
find "$lib/dist" -name '*.map' -delete
find "$lib/dist" -name '*.js' -exec sed -i '/^\/\/# sourceMappingURL=/d' {} +
node -e 'const p = require("./package.json"); process.stdout.write(JSON.stringify({ name: p.name, version: p.version,
  description: p.description, license: p.license, type: p.type, engines: p.engines, dependencies: p.dependencies }, null, 2) + "\n")' \
  >"$lib/package.json"
node scripts/deb/copy-runtime-modules.mjs . "$lib" >/dev/null
# The panel reads its script and style sheet from src/panel/static/ next to dist/ (src/panel/assets.ts).
mkdir -p "$lib/src/panel"
cp -a src/panel/static "$lib/src/panel/static"
chmod 0755 "$lib/dist/cli/main.js" "$lib/dist/main/daemon.js" "$lib/dist/native/porttrigger-set-reader"
ln -s ../lib/porttrigger/dist/cli/main.js "$root/usr/bin/porttrigger"

install -m 0644 contrib/porttrigger.service "$root/lib/systemd/system/porttrigger.service"
install -m 0644 contrib/config.yaml "$root/etc/porttrigger/config.yaml"
install -m 0644 README.md "$doc/README.md"
install -m 0644 docs/*.md "$doc/"
install -m 0644 examples/gateway.yaml "$doc/example-gateway.yaml"
node scripts/deb/copyright.mjs "$root" >"$doc/copyright"
if [ "$version" = "$upstream" ]; then
  cp contrib/debian/changelog "$doc/changelog.Debian"
else
  {
    printf 'porttrigger (%s) unstable; urgency=medium\n\n  * Local build of the checkout.\n\n' "$version"
    printf ' -- porttrigger maintainers <root@localhost>  %s\n\n' "$(date -R)"
    cat contrib/debian/changelog
  } >"$doc/changelog.Debian"
fi
gzip -9n "$doc/changelog.Debian"
node scripts/deb/manpage.mjs dist/cli/main.js "$version" | gzip -9n >"$root/usr/share/man/man8/porttrigger.8.gz"

installed_kb=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: porttrigger
Version: ${version}
Architecture: ${arch}
Maintainer: porttrigger maintainers <root@localhost>
Installed-Size: ${installed_kb}
Depends: nodejs (>= 20), nftables, conntrack, iproute2, libnftnl11, libmnl0
Section: net
Priority: optional
Homepage: https://github.com/porttrigger/porttrigger
Description: port triggering for Linux gateways
 nftables does the packet work (dynamic sets with timeouts, DNAT through map
 lookups); porttrigger is the control plane: rules, validation, a REST API,
 a web panel and an event history.
CONTROL
echo /etc/porttrigger/config.yaml >"$root/DEBIAN/conffiles"

# The maintainer scripts are what dh_installsystemd writes for a unit that is not enabled on install
# (--no-enable; the config names this gateway's interfaces, which only its owner knows) and restarts after an
# upgrade: upgrade = restart if enabled, remove = stop (which removes the table inet porttrigger) and mask,
# purge = forget the enablement and remove the state.
cat >"$root/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ] || [ "$1" = abort-upgrade ] || [ "$1" = abort-deconfigure ] || [ "$1" = abort-remove ]; then
  # Removes the mask a removal left; keeps the admin's enablement across upgrades, never enables on its own.
  if deb-systemd-helper debian-installed porttrigger.service; then
    deb-systemd-helper unmask porttrigger.service >/dev/null || true
    if deb-systemd-helper --quiet was-enabled porttrigger.service; then
      deb-systemd-helper enable porttrigger.service >/dev/null || true
    fi
  fi
  deb-systemd-helper update-state porttrigger.service >/dev/null || true
  if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
    # deb-systemd-invoke starts only an enabled unit: an upgrade restarts the running service with the new code.
    # The marker makes that one stop keep the table, so the new process adopts the open entries; it goes
    # afterwards whether the service took it or not, so no later stop keeps the table by mistake.
    if [ -n "$2" ]; then
      if [ -d /run/porttrigger ]; then : >/run/porttrigger/keep-table; fi
      deb-systemd-invoke restart porttrigger.service >/dev/null || true
      rm -f /run/porttrigger/keep-table
    fi
  fi
fi
exit 0
POSTINST
cat >"$root/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
set -e
# Only on removal: an upgrade keeps the service running until postinst restarts it.
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
  deb-systemd-invoke stop porttrigger.service >/dev/null || true
fi
exit 0
PRERM
cat >"$root/DEBIAN/postrm" <<'POSTRM'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
  systemctl --system daemon-reload >/dev/null || true
fi
if [ "$1" = remove ] && [ -x /usr/bin/deb-systemd-helper ]; then
  deb-systemd-helper mask porttrigger.service >/dev/null || true
fi
if [ "$1" = purge ]; then
  if [ -x /usr/bin/deb-systemd-helper ]; then
    deb-systemd-helper purge porttrigger.service >/dev/null || true
    deb-systemd-helper unmask porttrigger.service >/dev/null || true
  fi
  # The API token and the event history; dpkg removes the conffile, the API's .bak copies go too.
  rm -rf /var/lib/porttrigger
  rm -f /etc/porttrigger/config.yaml.bak /etc/porttrigger/.config.yaml.*.tmp
  rmdir /etc/porttrigger 2>/dev/null || true
fi
exit 0
POSTRM
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"

deb="$out/porttrigger_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$root" "$deb" >&2
rm -rf "$root"
echo "$deb"
