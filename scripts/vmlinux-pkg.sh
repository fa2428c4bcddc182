#!/bin/sh
# vmlinux-pkg.sh ARCH CACHEDIR OUT: writes OUT, the vmlinux.h of a pinned
# Debian 12 kernel package of ARCH, from that kernel's own BTF.  A cross
# build's BPF object compiles against it (make cross, docs/hacking.md
# "arm64"): the build host's /sys/kernel/btf/vmlinux describes the host's
# kernel, not the handset's.
#
# The package is pinned here and only here (version and sha256), fetched
# once into CACHEDIR with apt-get download (dpkg multiarch: the ARCH
# Packages index must be there, scripts/install-deps.sh cross adds it).
# Debian's arm64 kernels are built with CONFIG_DEBUG_INFO_BTF=y and their
# /boot/vmlinuz is the uncompressed Image, which holds the .BTF section's
# bytes (an allocated section, loaded with the kernel): the blob is found
# by its header (magic 0xeB9F, version 1, flags 0, hdr_len 24), cut out
# at the length the header gives (hdr_len + the end of the type or string
# section, whichever is last) and dumped as C by bpftool.  Exactly one
# such header must be in the Image.
set -eu

case "${1:-}" in
arm64)
	PKG=linux-image-6.1.0-50-arm64-unsigned
	VER=6.1.176-1
	SHA256=31ba9c41615c6e3a2c5397671ecd169af9822871cf19a6ac711d56b39833bd08
	;;
*)
	echo "vmlinux-pkg: no kernel package pinned for '${1:-}' (arm64 only)" >&2
	exit 2
	;;
esac
[ $# = 3 ] || { echo "usage: vmlinux-pkg.sh ARCH CACHEDIR OUT" >&2; exit 2; }
cache=$2 out=$3
deb="$cache/${PKG}_${VER}_$1.deb"
mkdir -p "$cache"

if [ ! -s "$deb" ]; then
	(cd "$cache" && apt-get download -q "$PKG:$1=$VER") ||
		{ echo "vmlinux-pkg: apt-get download $PKG:$1=$VER failed (dpkg --add-architecture $1; apt-get update)" >&2; exit 1; }
fi
got=$(sha256sum "$deb" | cut -d' ' -f1)
if [ "$got" != "$SHA256" ]; then
	echo "vmlinux-pkg: $deb: sha256 $got, pinned $SHA256" >&2
	exit 1
fi

img="$cache/vmlinuz-$VER-$1"
if [ ! -s "$img" ]; then
	dpkg-deb --fsys-tarfile "$deb" | tar -xOf - --wildcards './boot/vmlinuz-*' >"$img.tmp"
	mv "$img.tmp" "$img"
fi
# a compressed image (another distribution's habit) would need unpacking first
case "$(od -An -c -N2 "$img" | tr -d ' ')" in
'037213') echo "vmlinux-pkg: $img is gzip-compressed; expected the Image" >&2; exit 1 ;;
esac

offs=$(LC_ALL=C grep -obUaP '\x9f\xeb\x01\x00\x18\x00\x00\x00' "$img" | cut -d: -f1)
[ "$(echo "$offs" | grep -c .)" = 1 ] ||
	{ echo "vmlinux-pkg: $img: expected one BTF header, found offsets: $offs" >&2; exit 1; }
# type_off type_len str_off str_len, little-endian u32s like the host's
set -- $(od -An -tu4 -j $((offs + 8)) -N16 "$img")
len=$((24 + ($1 + $2 > $3 + $4 ? $1 + $2 : $3 + $4)))
blob="$cache/btf-$VER"
tail -c +$((offs + 1)) "$img" | head -c "$len" >"$blob"

bpftool btf dump file "$blob" format c >"$out.tmp" ||
	{ echo "vmlinux-pkg: bpftool cannot parse the BTF cut from $img at $offs ($len bytes)" >&2; exit 1; }
for t in task_struct trace_event_raw_sys_enter trace_event_raw_sys_exit; do
	grep -q "^struct $t {" "$out.tmp" ||
		{ echo "vmlinux-pkg: the BTF of $PKG $VER has no struct $t" >&2; rm -f "$out.tmp"; exit 1; }
done
mv "$out.tmp" "$out"
echo "vmlinux-pkg: $out from $PKG $VER (BTF at $offs, $len bytes)"
