#!/usr/bin/env bash
# Prints the directory of a cached Debian 13 (trixie) root file system that boots with systemd, building it
# with debootstrap when it is missing. The booted-gateway tests mount it read-only as the lower layer of an
# overlay, so a test never changes the cache; the cache lives outside the repository and is built once per
# machine (about two minutes from deb.debian.org).
#
#   scripts/gateway-rootfs.sh                     # the base tree (systemd, nodejs, nftables, conntrack, iproute2)
#   scripts/gateway-rootfs.sh firewalld ufw       # a layer with these extra Debian packages over the base
#
# With extra packages it prints two directories, the layer first, ready for overlayfs' lowerdir
# ("layer:base"). A layer holds only what apt-get added, so several layers share one base.
# Environment: PORTTRIGGER_GATEWAY_CACHE (default /var/cache/porttrigger-test), PORTTRIGGER_DEBIAN_MIRROR.
set -euo pipefail

cache=${PORTTRIGGER_GATEWAY_CACHE:-/var/cache/porttrigger-test}
mirror=${PORTTRIGGER_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=trixie
# Bump when the package list changes: a new name builds a new tree and the old one is never reused.
base_name="$suite-base-v1"
base_packages=systemd,systemd-sysv,dbus,nodejs,nftables,conntrack,iproute2,procps,util-linux

if [ "$(id -u)" -ne 0 ]; then
  echo "gateway-rootfs: needs root (debootstrap, mount)" >&2
  exit 1
fi
for program in debootstrap systemd-nspawn; do
  command -v "$program" >/dev/null || {
    echo "gateway-rootfs: $program is missing (scripts/ensure-deps.sh installs it)" >&2
    exit 1
  }
done
for package in "$@"; do
  [[ "$package" =~ ^[a-z0-9][a-z0-9+.-]*$ ]] || {
    echo "gateway-rootfs: not a Debian package name: '$package'" >&2
    exit 1
  }
done

mkdir -p "$cache"
# One builder at a time per machine: two test files (or two checkouts) may ask for the same tree at once.
exec 9>"$cache/.lock"
flock 9

base="$cache/$base_name"
if [ ! -f "$base/.complete" ]; then
  rm -rf "$base" "$base.partial"
  started=$(date +%s)
  echo "gateway-rootfs: debootstrap $suite into $base (once per machine)" >&2
  debootstrap --variant=minbase --include="$base_packages" "$suite" "$base.partial" "$mirror" >&2 || {
    echo "gateway-rootfs: debootstrap failed; the log is $base.partial/debootstrap/debootstrap.log" >&2
    exit 1
  }
  # A machine id is made at first boot of each copy; an empty file tells systemd so.
  : >"$base.partial/etc/machine-id"
  echo gateway >"$base.partial/etc/hostname"
  # No consoles to log in on, nothing that needs the network at boot.
  rm -f "$base.partial"/etc/systemd/system/getty.target.wants/*
  apt_cache="$base.partial/var/cache/apt/archives"
  find "$apt_cache" -name '*.deb' -delete
  mv "$base.partial" "$base"
  echo "$(($(date +%s) - started))" >"$base/.debootstrap-seconds"
  touch "$base/.complete"
  echo "gateway-rootfs: built in $(cat "$base/.debootstrap-seconds") s" >&2
fi

if [ "$#" -eq 0 ]; then
  echo "$base"
  exit 0
fi

# A layer per sorted package list, built by apt-get inside the base through an overlay whose upper
# directory becomes the layer.
packages=$(printf "%s\n" "$@" | sort -u | paste -sd " ")
layer="$cache/$base_name-extra-$(printf '%s' "$packages" | sha256sum | cut -c1-16)"
if [ ! -f "$layer/.complete" ]; then
  rm -rf "$layer" "$layer.partial" "$layer.work" "$layer.merged"
  mkdir -p "$layer.partial" "$layer.work" "$layer.merged"
  mount -t overlay overlay -o "lowerdir=$base,upperdir=$layer.partial,workdir=$layer.work" "$layer.merged"
  cleanup() { umount "$layer.merged" 2>/dev/null || true; }
  trap cleanup EXIT
  echo "gateway-rootfs: installing $packages into layer $layer" >&2
  # shellcheck disable=SC2086 # the list is validated Debian package names, one argument each
  systemd-nspawn --quiet --register=no --keep-unit --directory="$layer.merged" --setenv=DEBIAN_FRONTEND=noninteractive \
    sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@" && apt-get clean' \
    apt-install $packages >&2
  rm -rf "$layer.merged/var/lib/apt/lists/"*
  cleanup
  trap - EXIT
  rm -rf "$layer.work" "$layer.merged"
  mv "$layer.partial" "$layer"
  rm -f "$layer/.complete"
  printf '%s\n' "$packages" >"$layer/.packages"
  touch "$layer/.complete"
fi
printf '%s\n%s\n' "$layer" "$base"
