#!/bin/sh
# deb.sh OUTDIR [DPKG-BUILDPACKAGE-OPTION...] — vigil's Debian packages
# (docs/packaging.md), built with `dpkg-buildpackage -b` in a copy of the
# source tree under OUTDIR, so that neither the tree nor its parent
# directory gets debhelper's files; the .debs, the .changes and the
# .buildinfo end in OUTDIR.  `deb.sh OUT -aarm64` cross-builds (VMLINUX_H
# in the environment names the arm64 kernel's header: make deb ARCH=arm64).
set -eu
[ $# -ge 1 ] || { echo "usage: deb.sh OUTDIR [dpkg-buildpackage option...]" >&2; exit 2; }
top=$(cd "$(dirname "$0")/.." && pwd)
ver=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
rm -rf "$1"
mkdir -p "$1/src"
out=$(cd "$1" && pwd)
shift
src=$out/src/vigil-$ver
mkdir "$src"
# the tree without git and without any build directory (build, build-asan ...)
(cd "$top" && tar --exclude=./.git --exclude='./build*' -cf - .) | (cd "$src" && tar -xf -)
(cd "$src" && dpkg-buildpackage -b -us -uc -jauto "$@")
mv "$out"/src/*.deb "$out"/src/*.changes "$out"/src/*.buildinfo "$out"/
rm -rf "$out/src"
ls "$out"
