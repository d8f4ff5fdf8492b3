#!/usr/bin/env bash
# Installs what porttrigger needs and is missing, then builds. Idempotent: a warm machine does almost nothing.
#   ensure-deps.sh           everything the tests need (the default, what `npm test` runs)
#   ensure-deps.sh runtime   what running the service and the lab needs
#   ensure-deps.sh package   what building the Debian package needs: node, dpkg and the set reader's compiler
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-test}
case "$mode" in
test | runtime | package) ;;
*)
  echo "ensure-deps.sh: unknown mode '$mode' (test, runtime or package)" >&2
  exit 2
  ;;
esac

need_apt=()
# Every mode builds the set reader (native/set-reader, scripts/build-native.sh): a C compiler and two headers.
command -v gcc >/dev/null 2>&1 || need_apt+=(gcc)
[ -f /usr/include/libnftnl/set.h ] || need_apt+=(libnftnl-dev)
[ -f /usr/include/libmnl/libmnl.h ] || need_apt+=(libmnl-dev)
if [ "$mode" != package ]; then
  command -v nft >/dev/null 2>&1 || need_apt+=(nftables)
  command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
  command -v conntrack >/dev/null 2>&1 || need_apt+=(conntrack)
fi
if [ "$mode" = test ]; then
  # The browser tests of the panel drive Debian's Chromium; a browser is never downloaded.
  [ -x /usr/bin/chromium ] || need_apt+=(chromium)
  # The booted-gateway tests: debootstrap makes a Debian root file system, systemd-nspawn boots it.
  command -v debootstrap >/dev/null 2>&1 || need_apt+=(debootstrap)
  command -v systemd-nspawn >/dev/null 2>&1 || need_apt+=(systemd-container)
  # Learn mode's corpus and its kernel test run real applications: active FTP, a BitTorrent swarm, DNS, scans.
  command -v vsftpd >/dev/null 2>&1 || [ -x /usr/sbin/vsftpd ] || need_apt+=(vsftpd)
  command -v lftp >/dev/null 2>&1 || need_apt+=(lftp)
  command -v transmission-cli >/dev/null 2>&1 || need_apt+=(transmission-cli)
  command -v opentracker >/dev/null 2>&1 || need_apt+=(opentracker)
  command -v dnsmasq >/dev/null 2>&1 || [ -x /usr/sbin/dnsmasq ] || need_apt+=(dnsmasq-base)
  command -v nmap >/dev/null 2>&1 || need_apt+=(nmap)
  # The corpus's SIP softphone and its provider.
  command -v baresip >/dev/null 2>&1 || need_apt+=(baresip-core)
  # IRC DCC with a real server and clients: ngircd, and WeeChat without a terminal (its FIFO plugin drives it).
  command -v ngircd >/dev/null 2>&1 || [ -x /usr/sbin/ngircd ] || need_apt+=(ngircd)
  command -v weechat-headless >/dev/null 2>&1 || need_apt+=(weechat-headless)
  dpkg -s weechat-plugins >/dev/null 2>&1 || need_apt+=(weechat-plugins)
  # Companion mode beside ufw (run in namespaces; it stays disabled on this machine), and a WAN that DHCP
  # renumbers (dnsmasq above is the provider's server; docs/firewalls.md).
  command -v ufw >/dev/null 2>&1 || [ -x /usr/sbin/ufw ] || need_apt+=(ufw)
  command -v dhclient >/dev/null 2>&1 || [ -x /usr/sbin/dhclient ] || need_apt+=(isc-dhcp-client)
fi
if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "porttrigger: missing system packages: ${need_apt[*]} (run as root, or install them)" >&2
    exit 1
  fi
  echo "porttrigger: installing ${need_apt[*]} with apt-get" >&2
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# npm ci when node_modules is missing or older than the lock file; it never rewrites package-lock.json.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "porttrigger: installing npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

# Build when any source is newer than the last build.
stamp=dist/.build-stamp
if [ ! -f "$stamp" ] || [ -n "$(find src native package.json tsconfig.json scripts/bundle.mjs scripts/build-native.sh -newer "$stamp" -print -quit)" ]; then
  node scripts/bundle.mjs
  touch "$stamp"
fi
