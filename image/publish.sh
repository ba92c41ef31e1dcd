#!/usr/bin/env bash
# What gets flashed: dist/<name>.img.xz, its block map (bmaptool copy skips the empty blocks
# and checks every written one) and its SHA-256. Usage: publish.sh IMAGE OUTNAME
source "$(dirname "$0")/lib.sh"
need_tools xz bmaptool sha256sum
img=$1
out=${OUTDIR:-$DIST}/$2
mkdir -p "$(dirname "$out")"
rm -f "$out.img.xz" "$out.img.bmap" "$out.img.xz.sha256"
# The map is of the raw image; bmaptool finds foo.img.bmap for foo.img.xz by itself.
bmaptool -q create -o "$out.img.bmap" "$img"
# -6 with both cores: the smallest output for its time (image/README.md has the numbers);
# XZ_LEVEL=1 halves the time for +25 % size (tests).
xz -T2 "-${XZ_LEVEL:-6}" -c "$img" >"$out.img.xz"
(cd "$(dirname "$out")" && sha256sum "$(basename "$out.img.xz")" >"$(basename "$out.img.xz").sha256")
raw=$(stat -c %s "$img")
xzs=$(stat -c %s "$out.img.xz")
# The download budget (issue 7): a growing package list must not go unnoticed.
[ "$xzs" -le $((300 * 1000 * 1000)) ] || die "$out.img.xz is $((xzs / 1000000)) MB, over the 300 MB budget"
log "$out.img.xz: $((xzs / 1048576)) MiB ($((raw / 1048576)) MiB raw, $(du -m "$img" | cut -f1) MiB of it data)"
log "$out.img.bmap, $out.img.xz.sha256"
