#!/bin/bash
# Build Debian sid's Asterisk in a debootstrap minbase chroot and pack it as a zstd tarball.
#
#   asterisk/build-chroot.sh ROOT TARBALL [MIRROR]
#
# ROOT     empty (or missing) directory to build in; left in place, unmounted, on success
# TARBALL  where to write the .tar.zst (written to TARBALL.part, then renamed)
# MIRROR   Debian mirror; default: the host's deb.debian.org-style URI from
#          /etc/apt/sources.list.d/debian.sources, else http://deb.debian.org/debian
#
# Needs root and the host packages debootstrap and zstd (`make system`). Runs itself inside a
# private mount namespace (unshare -m), so proc/sys/dev/pts/shm mounted for apt vanish when the
# script ends, even when it fails half way. The package list is asterisk/packages.txt; the cache
# key is a hash of this script + that list (ivr/pbx/build.py), so editing either rebuilds.
# Measured on 2 cores: ~28 s debootstrap + ~18 s apt-get + ~4 s zstd; 122 MB tarball.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "build-chroot.sh: must run as root (debootstrap, chroot, mount)" >&2
  exit 2
fi
if [ -z "${HOTLINE_BUILD_IN_NS:-}" ]; then
  export HOTLINE_BUILD_IN_NS=1
  exec unshare --mount --propagation private -- "$0" "$@"
fi
if [ $# -lt 2 ]; then
  sed -n '2,16p' "$0" >&2
  exit 2
fi

ROOT=$(realpath -m "$1")
TARBALL=$(realpath -m "$2")
MIRROR=${3:-}
HERE=$(cd "$(dirname "$0")" && pwd)
PACKAGES=$(grep -v '^\s*#' "$HERE/packages.txt" | xargs)

for tool in debootstrap zstd unshare chroot; do
  command -v "$tool" >/dev/null || { echo "build-chroot.sh: $tool missing (make system)" >&2; exit 2; }
done

if [ -z "$MIRROR" ] && [ -r /etc/apt/sources.list.d/debian.sources ]; then
  MIRROR=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' \
    /etc/apt/sources.list.d/debian.sources)
fi
if [ -z "$MIRROR" ] && [ -r /etc/apt/sources.list ]; then
  MIRROR=$(awk '$1 == "deb" && $2 ~ /debian/ && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list)
fi
# An Ubuntu mirror has no sid: only keep the host mirror when it is a Debian one.
case "$MIRROR" in *debian*) ;; *) MIRROR=http://deb.debian.org/debian ;; esac

step() { printf '[build-chroot %(%H:%M:%S)T] %s\n' -1 "$*"; }

if [ -e "$ROOT" ] && [ -n "$(ls -A "$ROOT" 2>/dev/null)" ]; then
  echo "build-chroot.sh: $ROOT is not empty; give an empty or missing directory" >&2
  exit 2
fi
mkdir -p "$ROOT" "$(dirname "$TARBALL")"

step "debootstrap --variant=minbase sid $ROOT $MIRROR"
for attempt in 1 2 3; do  # a flaky mirror is the usual cause of failure: try again
  if debootstrap --variant=minbase sid "$ROOT" "$MIRROR" >"$ROOT.debootstrap.log" 2>&1; then
    break
  fi
  tail -n 30 "$ROOT.debootstrap.log" >&2
  [ -f "$ROOT/debootstrap/debootstrap.log" ] && tail -n 30 "$ROOT/debootstrap/debootstrap.log" >&2
  [ "$attempt" = 3 ] && exit 1
  step "debootstrap failed (attempt $attempt); retrying"
  rm -rf "$ROOT" && mkdir -p "$ROOT"
  sleep 5
done
rm -f "$ROOT.debootstrap.log"

# The mirror's Release file can be older than the clock; no daemons start in the chroot.
echo 'Acquire::Check-Valid-Until "false";' >"$ROOT/etc/apt/apt.conf.d/99hotline-no-valid-until"
echo 'Acquire::Retries "5";' >"$ROOT/etc/apt/apt.conf.d/99hotline-retries"
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
  >"$ROOT/etc/apt/apt.conf.d/99hotline-no-recommends"
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 0755 "$ROOT/usr/sbin/policy-rc.d"

mount -t proc proc "$ROOT/proc"
mount -t sysfs -o ro sysfs "$ROOT/sys"
mkdir -p "$ROOT/dev/pts" "$ROOT/dev/shm"
mount --bind /dev/pts "$ROOT/dev/pts"
mount -t tmpfs -o mode=1777 shm "$ROOT/dev/shm"

step "apt-get install $PACKAGES"
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
chroot "$ROOT" apt-get update -qq
chroot "$ROOT" apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
chroot "$ROOT" /usr/sbin/asterisk -V

umount "$ROOT/dev/shm" "$ROOT/dev/pts" "$ROOT/sys" "$ROOT/proc"

step "trimming (debs, apt lists, docs, man pages, locales)"
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/cache/apt/*.bin \
  "$ROOT"/var/lib/apt/lists/* "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* \
  "$ROOT"/usr/share/info/* "$ROOT"/var/log/*.log "$ROOT"/var/log/apt/*
find "$ROOT/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} +
# users.conf is deprecated (warns at boot); our rendered configs replace the samples we load.
rm -f "$ROOT/etc/asterisk/users.conf"
# The mount points the runner needs; owned by asterisk so it can write recordings and its socket.
mkdir -p "$ROOT/var/lib/hotline/prompts" "$ROOT/var/lib/hotline/recordings" "$ROOT/run/asterisk"
chroot "$ROOT" chown asterisk:asterisk /run/asterisk /var/lib/hotline/recordings

step "packing $TARBALL"
tar --numeric-owner --xattrs -C "$ROOT" -cf - . | zstd -q -T0 -6 -o "$TARBALL.part" -f
mv -f "$TARBALL.part" "$TARBALL"
step "done: $(du -h "$TARBALL" | cut -f1) $TARBALL"
