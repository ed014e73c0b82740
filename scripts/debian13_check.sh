#!/usr/bin/env bash
# Runs the README's test command (`bash scripts/test.sh`) on a fresh Debian 13 (trixie) in a chroot,
# from a clean copy of the committed tree (git archive of HEAD), with ../shared beside it read-only,
# as on the development machine. Needs root and debootstrap (apt-get install debootstrap).
#
#   scripts/debian13_check.sh [options] [-- COMMAND...]
#     --root DIR     the chroot (default /var/tmp/papillon-trixie; outside the repo). Emptied each run.
#     --reuse        keep the chroot from the last run (packages already installed, build/ kept):
#                    only the repo copy is replaced. For iterating; a final check runs without it.
#     --ref REF      the commit to copy (default HEAD)
#     -- COMMAND     run COMMAND in the repo copy instead of `bash scripts/test.sh`
#                    (e.g. -- bash -c 'bash scripts/setup.sh && bash scripts/build.sh')
#
# Downloaded .debs are kept in /var/tmp/papillon-trixie-apt (PAPILLON_APT_CACHE), also on clean runs,
# so a second clean run downloads nothing. Everything mounted is unmounted on exit.
# Builds run under nice -n 10 with PAPILLON_JOBS (default 2) jobs.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
root=/var/tmp/papillon-trixie
cache="${PAPILLON_APT_CACHE:-/var/tmp/papillon-trixie-apt}"
mirror="${PAPILLON_MIRROR:-http://deb.debian.org/debian}"
reuse=0
ref=HEAD
cmd=(bash scripts/test.sh)
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="$2"; shift 2 ;;
    --reuse) reuse=1; shift ;;
    --ref) ref="$2"; shift 2 ;;
    --) shift; cmd=("$@"); break ;;
    *) sed -n '2,17p' "$0" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "debian13_check: needs root (debootstrap, chroot, mount)" >&2; exit 2; }
command -v debootstrap >/dev/null || { echo "debian13_check: apt-get install debootstrap" >&2; exit 2; }
case "$root" in "$repo"/*|"$repo") echo "debian13_check: --root must be outside the repo" >&2; exit 2 ;; esac

mounts=()
unmount_all() {
  local i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    umount "${mounts[i]}" 2>/dev/null || umount -l "${mounts[i]}" 2>/dev/null || true
  done
  mounts=()
}
# Any mount left below the chroot (a run killed with -9): unmount it before emptying the folder.
unmount_stale() {
  local m
  awk -v r="$root/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
}
trap unmount_all EXIT
trap 'exit 130' INT TERM
bind() {  # bind SRC DST [ro]
  mkdir -p "$2"
  mount --bind "$1" "$2"
  mounts+=("$2")
  if [ "${3:-}" = ro ]; then mount -o remount,bind,ro "$2"; fi
}

unmount_stale
mkdir -p "$cache"
if [ "$reuse" -eq 0 ] || [ ! -f "$root/.papillon-bootstrapped" ]; then
  rm -rf --one-file-system "$root"
  echo "debian13_check: debootstrap --variant=minbase trixie $root ($mirror)"
  debootstrap --variant=minbase --cache-dir="$cache" trixie "$root" "$mirror"
  # No services start inside the chroot; apt keeps what it downloads (the cache is bind-mounted).
  printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
  chmod +x "$root/usr/sbin/policy-rc.d"
  echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";' > "$root/etc/apt/apt.conf.d/90keep"
  touch "$root/.papillon-bootstrapped"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

# The repo as committed (no build/, no untracked files), and ../shared beside it as on this machine.
# With --reuse, files whose content did not change keep their old modification time, so the kept
# build/ only rebuilds what the change touches (git archive stamps every file with the commit time).
src="$root/src/papillon"
fresh="$root/src/papillon.new"
rm -rf "$fresh"
mkdir -p "$fresh"
git -C "$repo" archive "$ref" | tar -x -C "$fresh"
if [ "$reuse" -eq 1 ] && [ -d "$src" ]; then
  (cd "$fresh" && find . -type f -print0) | while IFS= read -r -d '' f; do
    if [ -f "$src/$f" ] && cmp -s "$fresh/$f" "$src/$f"; then touch -r "$src/$f" "$fresh/$f"; fi
  done
  if [ -d "$src/build" ]; then mv "$src/build" "$fresh/build"; fi
fi
rm -rf "$src"
mv "$fresh" "$src"
echo "debian13_check: $(git -C "$repo" rev-parse --short "$ref") copied to $src"

bind /proc "$root/proc"
bind /sys "$root/sys" ro
bind /dev "$root/dev"
bind /dev/pts "$root/dev/pts"
mkdir -p "$root/dev/shm"
mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm" && mounts+=("$root/dev/shm")
bind "$cache" "$root/var/cache/apt/archives"
bind "$repo/../shared" "$root/src/shared" ro

echo "debian13_check: running '${cmd[*]}' in trixie"
set +e
chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  PAPILLON_JOBS="${PAPILLON_JOBS:-2}" PAPILLON_TEST_JOBS="${PAPILLON_TEST_JOBS:-2}" \
  nice -n 10 bash -c 'cd /src/papillon && exec "$@"' bash "${cmd[@]}"
rc=$?
set -e
echo "debian13_check: rc=$rc"
exit "$rc"
