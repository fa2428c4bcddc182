# bench/throughput_rows.sh — the rows of bench/throughput_bench.sh (sourced,
# bash).  Each row_X runs in a subshell of run_row, appends its section to
# $REPORT with say(), and leaves figures later rows use with put().

# a line of a row's table
rowline() { # TOOL WALL DEVCPU SRVCPU RSS NOTE
	say "$(printf '  %-22s %8s %9s %9s %13s  %s' "$@")"
}
rowhead() {
	say "$(printf '  %-22s %8s %9s %9s %13s  %s' tool "wall s" "dev CPU" "srv CPU" "RSS dev/srv" note)"
}
rss2() { echo "$(mib "$1")/$(mib "$2")"; }

# --- (a) first backup, many small files -------------------------------------

SMALL=$WROOT/small   # read only: one copy for both passes
small_make() {
	log "making $NSMALL files x 4 KiB in $NDIRS dirs"
	python3 - "$SMALL" "$NSMALL" "$NDIRS" <<-'EOF' || die "small files"
		import os, sys
		root, n, nd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
		for d in range(nd):
		    os.makedirs(f"{root}/d{d:03d}", exist_ok=True)
		for i in range(n):
		    with open(f"{root}/d{i % nd:03d}/f{i:06d}", "wb") as f:
		        f.write(os.urandom(4096))
	EOF
	sync
}

row_a() {
	local s0 s1 scpu n us vw vc rw rc rs rsd
	[ -d "$SMALL" ] || small_make
	say "(a) first backup, $NSMALL files x 4 KiB in $NDIRS dirs (page cache warm); load $(loadavg)"
	rowhead
	srv_up "$W/srv-a"
	once_cmd "$W/st-a" "$SMALL"
	perf_wrap vigild
	perf_attach server "$SPID"
	s0=$(proc_ticks "$SPID")
	log "vigil"
	timed a-vigil "${PF[@]}" "${ONCE[@]}"
	sleep 0.5
	s1=$(proc_ticks "$SPID")
	perf_detach
	[ "$T_RC" = 0 ] || die "vigild once rc=$T_RC: $(tail -1 "$W/a-vigil.out")"
	n=$(counter "$W/st-a" shipped)
	scpu=$(tsec $((s1 - s0)))
	us=$(awk -v c="$scpu" -v n="$n" 'BEGIN { if (n > 0) printf "%.0f", c * 1e6 / n; else print "-" }')
	rowline vigil "$T_WALL" "$T_CPU" "$scpu" "$(rss2 "$T_RSS" "$(hwm_kib "$SPID")")" \
		"$n versions, $us us server CPU per version; $(verify "$SMALL/d000/f000000")"
	vw=$T_WALL vc=$T_CPU
	stop_pid "$SPID"
	sync
	log "rsync"
	rsyncd_up
	s0=$(proc_ticks "$RPID")
	timed a-rsync rsync -a "$SMALL/" "$(RURL small/)"
	sleep 0.5
	s1=$(proc_ticks "$RPID")
	rsd=$(tsec $((s1 - s0)))
	diff -rq "$SMALL" "$W/rdst/small" >/dev/null && rs="copy equal" || rs="COPY DIFFERS"
	rowline "rsync -a (daemon)" "$T_WALL" "$T_CPU" "$rsd" "$(mib "$T_RSS")/-" "$rs; no fsync"
	rw=$T_WALL rc=$T_CPU
	stop_pid "$RPID"
	rm -rf "$W/rdst/small"
	sync
	local xw=-
	if [ "$HAVE_RESTIC" = 1 ]; then
		log "restic"
		restic_env "$W/restic-a"
		restic init -q >/dev/null 2>&1 || die "restic init"
		timed a-restic restic backup -q "$SMALL"
		xw=$T_WALL
		rowline "restic backup (local)" "$T_WALL" "$T_CPU" "-" "$(mib "$T_RSS")/-" "rc=$T_RC"
		rm -rf "$W/restic-a"
	fi
	say "  ratios: $(target "vigil/rsync wall" "$(ratio "$vw" "$rw")" 2x); vigil/restic wall $(ratio "$vw" "$xw");" \
		"device CPU vigil/rsync client $(ratio "$vc" "$rc"); $(target "server CPU per version, us" "$us" 150)"
}

# --- (b) first backup, one big file -----------------------------------------

# big_make: sets BIGD, BIGF (this pass's) and makes the file once
big_make() {
	BIGD=$W/big BIGF=$W/big/big.bin
	[ -f "$BIGF" ] && return 0
	log "making a $BIG_MIB MiB file"
	mkdir -p "$BIGD"
	prng big $((BIG_MIB * 1048576)) >"$BIGF" || die "openssl"
	sync
}

row_b() {
	local s0 s1 vw vc rw rc dw br xw=- tgt
	big_make
	rm -rf "$W/srv-big" "$W/st-big" "$W/srv-big".* "$W/rdst/big.bin"
	say "(b) first backup, one $BIG_MIB MiB random file (page cache warm); load $(loadavg)"
	rowhead
	srv_up "$W/srv-big"
	once_cmd "$W/st-big" "$BIGD"
	perf_wrap vigild
	perf_attach server "$SPID"
	s0=$(proc_ticks "$SPID")
	log "vigil"
	timed b-vigil "${PF[@]}" "${ONCE[@]}"
	sleep 0.5
	s1=$(proc_ticks "$SPID")
	perf_detach
	[ "$T_RC" = 0 ] || die "vigild once rc=$T_RC: $(tail -1 "$W/b-vigil.out")"
	br=$(counter "$W/st-big" bytes_read)
	rowline vigil "$T_WALL" "$T_CPU" "$(tsec $((s1 - s0)))" "$(rss2 "$T_RSS" "$(hwm_kib "$SPID")")" \
		"bytes_read $br ($(ratio "$br" $((BIG_MIB * 1048576))) the size); $(verify "$BIGF")"
	vw=$T_WALL vc=$T_CPU
	stop_pid "$SPID"
	touch "$W/st-big.ready"
	sync
	log "rsync"
	rsyncd_up
	s0=$(proc_ticks "$RPID")
	timed b-rsync rsync -t --inplace "$BIGF" "$(RURL big.bin)"
	sleep 0.5
	s1=$(proc_ticks "$RPID")
	cmp -s "$BIGF" "$W/rdst/big.bin" && rs="copy equal" || rs="COPY DIFFERS"
	rowline "rsync (daemon)" "$T_WALL" "$T_CPU" "$(tsec $((s1 - s0)))" "$(mib "$T_RSS")/-" "$rs; no fsync"
	rw=$T_WALL rc=$T_CPU
	stop_pid "$RPID"
	sync
	if [ "$HAVE_RESTIC" = 1 ]; then
		log "restic"
		restic_env "$W/restic-b"
		restic init -q >/dev/null 2>&1 || die "restic init"
		timed b-restic restic backup -q "$BIGD"
		xw=$T_WALL
		rowline "restic backup (local)" "$T_WALL" "$T_CPU" "-" "$(mib "$T_RSS")/-" "rc=$T_RC"
		rm -rf "$W/restic-b"
		sync
	fi
	log "dd"
	timed b-dd dd if="$BIGF" of="$W/srv-big/dd.out" bs=1M conv=fsync
	dw=$T_WALL
	rowline "dd conv=fsync" "$T_WALL" "$T_CPU" "-" "-" "same filesystem as the store"
	rm -f "$W/srv-big/dd.out"
	tgt=$(awk -v r="$rw" -v d="$dw" 'BEGIN { a = 1.5 * r; b = 1.2 * d; printf "%.2f", (a > b) ? a : b }')
	say "  ratios: vigil/rsync wall $(ratio "$vw" "$rw"), vigil/dd wall $(ratio "$vw" "$dw"), vigil/restic wall $(ratio "$vw" "$xw");" \
		"$(target "vigil wall s" "$vw" "$tgt") [max(1.5x rsync, 1.2x dd)];" \
		"$(target "device CPU vigil/rsync client" "$(ratio "$vc" "$rc")" 2.5x)"
	say "  $(target "bytes_read/size" "$(ratio "$br" $((BIG_MIB * 1048576)))" 1x)"
}

# big_ready: the big file shipped by `vigild once` (row b, or here unmeasured)
# and copied to the rsync daemon; the server is up on it (SPID)
big_ready() {
	big_make
	if [ ! -f "$W/st-big.ready" ]; then
		log "first upload of the big file (not measured)"
		rm -rf "$W/srv-big" "$W/st-big" "$W/srv-big".*
		srv_up "$W/srv-big"
		once_cmd "$W/st-big" "$BIGD"
		"${ONCE[@]}" >"$W/big-first.out" 2>&1 || die "first vigild once: $(tail -1 "$W/big-first.out")"
		stop_pid "$SPID"
		touch "$W/st-big.ready"
	fi
	srv_up "$W/srv-big"
	if [ ! -f "$W/rdst/big.bin" ]; then
		rsyncd_up
		rsync -t --inplace "$BIGF" "$(RURL big.bin)" >"$W/rs-first.out" 2>&1 || die "first rsync"
		stop_pid "$RPID"
	fi
	OFF=$((BIG_MIB * 1048576 / 2))
	sleep 2.5   # past the racily-clean window of the last capture
}

# --- (c) 4 KiB edit of the big file, librsync fallback ----------------------

row_c() {
	local s0 s1 c0 c1 k0 k vw vc rw rc tc v0 v recv tseen sent
	big_ready
	say "(c) 4 KiB pwrite in the middle of the $BIG_MIB MiB file, librsync fallback; load $(loadavg)"
	rowhead
	log "vigild once"
	pwrite4k "$BIGF" "$OFF" >/dev/null
	once_cmd "$W/st-big" "$BIGD"
	perf_wrap once-vigild
	perf_attach once-server "$SPID"
	s0=$(proc_ticks "$SPID")
	timed c-once "${PF[@]}" "${ONCE[@]}"
	sleep 0.5
	s1=$(proc_ticks "$SPID")
	perf_detach
	[ "$T_RC" = 0 ] || die "vigild once rc=$T_RC: $(tail -1 "$W/c-once.out")"
	k=$(kind_of "0 0 0 0" "$(kinds "$W/st-big")")
	sent=$(counter "$W/st-big" bytes_sent)
	rowline "vigild once" "$T_WALL" "$T_CPU" "$(tsec $((s1 - s0)))" "$(rss2 "$T_RSS" "$(hwm_kib "$SPID")")" \
		"to durable = exit; shipped $k, bytes_sent $sent; $(verify "$BIGF")"
	vw=$T_WALL vc=$T_CPU
	log "rsync"
	rsyncd_up
	s0=$(proc_ticks "$RPID")
	timed c-rsync rsync -t -I --no-whole-file --inplace --stats "$BIGF" "$(RURL big.bin)"
	sleep 0.5
	s1=$(proc_ticks "$RPID")
	cmp -s "$BIGF" "$W/rdst/big.bin" && rs="copy equal" || rs="COPY DIFFERS"
	rw=$T_WALL rc=$T_CPU
	put c_rs "$T_WALL|$T_CPU|$(tsec $((s1 - s0)))"
	rowline "rsync --inplace" "$T_WALL" "$T_CPU" "$(tsec $((s1 - s0)))" "$(mib "$T_RSS")/-" \
		"$rs; sent $(sed -n 's/^Total bytes sent: *//p' "$W/c-rsync.out") B; no fsync"
	stop_pid "$RPID"
	say "  ratios (once): $(target "time to durable vigil/rsync" "$(ratio "$vw" "$rw")" 2x);" \
		"$(target "device CPU vigil/rsync client" "$(ratio "$vc" "$rc")" 3x)"
	log "vigild run --tracker fanotify"
	vigild_run "$W/st-big" "$BIGD" fanotify
	wait_until 120 "vigild (fanotify) idle" settled "$W/st-big" fanotify
	cpu_settle "$VPID" 3   # a shipper may still be reading with the queue empty
	k0=$(kinds "$W/st-big")
	read -r v0 _ <<<"$(latest "$BIGF")"
	perf_attach fan-vigild "$VPID"
	perf_attach fan-server "$SPID"
	c0=$(proc_ticks "$VPID") s0=$(proc_ticks "$SPID")
	tc=$(pwrite4k "$BIGF" $((OFF + 65536)))
	wait_until 300 "fanotify edit durable" has_version "$BIGF" $((v0 + 1))
	tseen=$(now_ns)
	read -r v recv _ <<<"$(latest "$BIGF")"
	sleep 1.5   # status.json is written once a second
	c1=$(proc_ticks "$VPID") s1=$(proc_ticks "$SPID")
	perf_detach
	k=$(kind_of "$k0" "$(kinds "$W/st-big")")
	vw=$(secs "$tc" "$recv") vc=$(tsec $((c1 - c0)))
	rowline "vigild run fanotify" "$vw" "$vc" "$(tsec $((s1 - s0)))" "$(rss2 "$(hwm_kib "$VPID")" "$(hwm_kib "$SPID")")" \
		"close() to recv_ns; seen by poll at $(secs "$tc" "$tseen") s; shipped $k; $(verify "$BIGF")"
	stop_pid "$VPID"
	say "  ratios (fanotify): $(target "time to durable vigil/rsync" "$(ratio "$vw" "$rw")" 2x);" \
		"$(target "device CPU vigil/rsync client" "$(ratio "$vc" "$rc")" 3x)"
}

# --- (d) 4 KiB edit of the big file, shipped as ranges (bpf) ----------------

# d_edit F STATE N: one measured 4 KiB edit (the Nth) of F under the
# running vigild (VPID); sets D_* figures and D_KIND
d_edit() {
	local f=$1 st=$2 s0 sd s1 c0 c1 k0 tc v0 recv idle r0
	cpu_settle "$VPID" 3
	cpu_settle "$SPID"   # earlier work (first upload, last edit) done
	s0=$(proc_ticks "$SPID")
	sleep 3
	idle=$(($(proc_ticks "$SPID") - s0))
	k0=$(kinds "$st") r0=$(counter "$st" rescans)
	read -r v0 _ <<<"$(latest "$f")"
	perf_attach "vigild$3" "$VPID"
	perf_attach "server$3" "$SPID"
	c0=$(proc_ticks "$VPID") s0=$(proc_ticks "$SPID")
	tc=$(pwrite4k "$f" $((OFF + 131072 * $3)))
	wait_until 300 "edit durable" has_version "$f" $((v0 + 1))
	sd=$(proc_ticks "$SPID")
	read -r _ recv _ <<<"$(latest "$f")"
	# background work: until the server's CPU is still for 3 s (the old
	# server's sha256 pass starts at the commit and runs without a break)
	cpu_settle "$SPID" && D_NOTE="server still $(secs "$tc" "$(now_ns)") s after close()" ||
		D_NOTE="server CPU still moving after $SETTLE_MAX s"
	s1=$(proc_ticks "$SPID") c1=$(proc_ticks "$VPID")
	sha_filled "$f" && D_NOTE="$D_NOTE, sha256 filled" || D_NOTE="$D_NOTE, sha256 still pending (deferred)"
	perf_detach
	sleep 1.2   # status.json
	D_KIND=$(kind_of "$k0" "$(kinds "$st")")
	D_NOTE="shipped $D_KIND; server CPU until durable $(tsec $((sd - s0))) s; $D_NOTE; idle server before: $(tsec "$idle") s in 3 s; rescans $(($(counter "$st" rescans) - r0))"
	D_DUR=$(secs "$tc" "$recv") D_DEV=$(tsec $((c1 - c0))) D_SRV=$(tsec $((s1 - s0)))
}

row_d() {
	local f=$W/rng/big.bin st=$W/st-rng n=1 tries="" ver rss rw rc rs
	big_ready
	say "(d) 4 KiB pwrite in the middle of the $BIG_MIB MiB file, vigild run --tracker bpf (ranges); load $(loadavg)"
	rowhead
	# a copy shipped first by `vigild run --tracker bpf` itself (not
	# measured), as a live device would have it: a restarted tracker, or
	# one after another tracker's ship, does not ship ranges at once
	mkdir -p "$W/rng"
	cp "$BIGF" "$f"
	rm -rf "$st"
	vigild_run "$st" "$W/rng" bpf
	wait_until 900 "first upload (bpf)" has_version "$f" 1
	wait_until 120 "vigild (bpf) idle" settled "$st" bpf
	# io_uring use by any other process makes the bpf tracker rescan,
	# which voids the range set (docs/tracker.md): such an edit ships as
	# a delta; then up to two more edits, each reported
	while :; do
		d_edit "$f" "$st" "$n"
		case $D_KIND in *ranges*) break ;; esac
		tries="$tries; edit $n: $D_KIND in $D_DUR s, server $D_SRV s CPU"
		[ "$n" -ge 3 ] && break
		n=$((n + 1))
	done
	rss=$(rss2 "$(hwm_kib "$VPID")" "$(hwm_kib "$SPID")")
	ver=$(verify "$f")
	rowline "vigild run bpf" "$D_DUR" "$D_DEV" "$D_SRV" "$rss" \
		"close() to recv_ns; $D_NOTE; vigild bytes_read since start $(counter "$st" bytes_read)${tries:+; NOT RANGES before$tries}; $ver"
	stop_pid "$VPID"
	IFS='|' read -r rw rc rs <<<"$(get c_rs)"
	[ -n "${rw:-}" ] && rowline "rsync --inplace (row c)" "$rw" "$rc" "$rs" "-" "the same size of edit, daemon side CPU"
	say "  $(target "server CPU incl. background, s" "$D_SRV" 0.05); server CPU vigil/rsync daemon $(ratio "$D_SRV" "${rs:--}")"
}

# --- (e) ranges, restart, another edit: delta or whole? ---------------------

row_e() {
	local d=$W/mid f=$W/mid/mid.bin size=$((MID_MIB * 1048576)) k0 k1 v0 sent
	mkdir -p "$d"
	[ -f "$f" ] || { prng mid "$size" >"$f" && sync; } || die "openssl"
	rm -rf "$W/srv-e" "$W/srv-e".* "$W/st-e"
	say "(e) ranges then restart: $MID_MIB MiB file, 4 KiB edit shipped as ranges (bpf), vigild stopped, another 4 KiB edit, vigild once; load $(loadavg)"
	rowhead
	srv_up "$W/srv-e"
	log "first upload (vigild run --tracker bpf)"
	vigild_run "$W/st-e" "$d" bpf
	wait_until 600 "first upload" has_version "$f" 1
	wait_until 120 "vigild (bpf) idle" settled "$W/st-e" bpf
	cpu_settle "$VPID" 3
	k0=$(kinds "$W/st-e")
	read -r v0 _ <<<"$(latest "$f")"
	pwrite4k "$f" $((size / 2)) >/dev/null
	wait_until 120 "ranges edit" has_version "$f" $((v0 + 1))
	sleep 1.5
	k1="$(kind_of "$k0" "$(kinds "$W/st-e")") (rescans $(counter "$W/st-e" rescans) since start)"
	stop_pid "$VPID"
	pwrite4k "$f" $((size / 4)) >/dev/null
	once_cmd "$W/st-e" "$d"
	perf_wrap vigild
	timed e-once "${PF[@]}" "${ONCE[@]}"
	perf_detach
	[ "$T_RC" = 0 ] || die "vigild once rc=$T_RC: $(tail -1 "$W/e-once.out")"
	sent=$(counter "$W/st-e" bytes_sent)
	rowline "vigild once" "$T_WALL" "$T_CPU" "-" "$(mib "$T_RSS")/-" \
		"first edit shipped $k1; this one: bytes_sent $sent, shipped_whole $(counter "$W/st-e" shipped_whole), shipped_delta $(counter "$W/st-e" shipped_delta), bytes_read $(counter "$W/st-e" bytes_read); $(verify "$f")"
	say "  bytes_sent/size $(ratio "$sent" "$size") (target: a delta, shipped_whole 0)"
}

# --- (f) cold reads ---------------------------------------------------------

# catcold NAME FILE: drop the page cache, then time a cat of FILE
catcold() {
	drop_caches
	timed "$1" sh -c 'cat "$1" >/dev/null' _ "$2"
}

# row_f_get LABEL NOTE OUT [VAR=VALUE]: one more cold get of row f's file
# into OUT, with the environment given; skipped when OUT's directory is
# missing (a machine without /dev/shm)
row_f_get() {
	local label=$1 note=$2 out=$3 s0 s1 rs
	shift 3
	[ -d "$(dirname "$out")" ] || return 0
	drop_caches
	s0=$(proc_ticks "$SPID")
	timed f-get2 env "$@" "$BIN/vigil" --bundle "$CTLB" --server "127.0.0.1:$VPORT" get "dev:$f" -o "$out"
	s1=$(proc_ticks "$SPID")
	cmp -s "$f" "$out" && rs="equal" || rs="DIFFERS rc=$T_RC"
	say "$(printf '  %-22s %8s %9s %9s %13s  %s' "vigil $label" "$T_WALL" "$T_CPU" "$(tsec $((s1 - s0)))" "$(mibs "$(stat -c %s "$f")" "$T_WALL")" "$rs; $note")"
	rm -f "$out"
}

row_f() {
	local d=$W/rd f=$W/rd/rd.bin size=$((MID_MIB * 1048576)) m=$W/mnt r=$W/rmnt s0 s1 mp gw mw dw i=0
	mkdir -p "$d" "$m" "$r"
	[ -f "$f" ] || { prng rd "$size" >"$f" && sync; } || die "openssl"
	rm -rf "$W/srv-f" "$W/srv-f".* "$W/st-f"
	say "(f) cold reads of a $MID_MIB MiB file (sync; drop_caches before each); load $(loadavg)"
	say "$(printf '  %-22s %8s %9s %9s %13s  %s' tool "wall s" "cli CPU" "srv CPU" "MiB/s" note)"
	srv_up "$W/srv-f"
	once_cmd "$W/st-f" "$d"
	"${ONCE[@]}" >"$W/f-first.out" 2>&1 || die "vigild once: $(tail -1 "$W/f-first.out")"
	log "vigil get"
	perf_wrap get
	perf_attach get-server "$SPID"
	drop_caches
	s0=$(proc_ticks "$SPID")
	timed f-get "${PF[@]}" "$BIN/vigil" --bundle "$CTLB" --server "127.0.0.1:$VPORT" get "dev:$f" -o "$W/got"
	s1=$(proc_ticks "$SPID")
	perf_detach
	gw=$(mibs "$size" "$T_WALL")
	cmp -s "$f" "$W/got" && rs="equal" || rs="DIFFERS rc=$T_RC"
	say "$(printf '  %-22s %8s %9s %9s %13s  %s' "vigil get" "$T_WALL" "$T_CPU" "$(tsec $((s1 - s0)))" "$gw" "$rs")"
	rm -f "$W/got"
	# where a get's time goes (reads8): the same cold get into a tmpfs (no
	# disk write, no fsync: the transfer alone), and over two streams
	row_f_get "get to tmpfs" "the transfer alone: no disk write, no fsync" /dev/shm/vigil-bench-got.$$
	row_f_get "get, 2 streams" "VIGIL_GET_STREAMS=2 (1 is the default on 2 CPUs)" "$W/got" VIGIL_GET_STREAMS=2
	# the disk's floor under a get, which reads the packs cold and writes
	# the same bytes durably on one disk: dd conv=fsync of the file (read
	# from the page cache), alone and with the packs read cold beside it
	log "dd"
	timed f-dd dd if="$f" of="$W/dd.out" bs=1M conv=fsync
	say "$(printf '  %-22s %8s %9s %9s %13s  %s' "dd conv=fsync" "$T_WALL" "$T_CPU" - "$(mibs "$size" "$T_WALL")" "the get's durable write alone")"
	rm -f "$W/dd.out"
	drop_caches
	cat "$f" >/dev/null
	s0=$(date +%s%N)
	cat "$W/srv-f"/store/packs/*.pack >/dev/null &
	dd if="$f" of="$W/dd.out" bs=1M conv=fsync 2>/dev/null
	wait $!
	s1=$(date +%s%N)
	dw=$(awk -v a="$s0" -v b="$s1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
	say "$(printf '  %-22s %8s %9s %9s %13s  %s' "dd + packs read" "$dw" - - "$(mibs "$size" "$dw")" "dd conv=fsync while the store's packs are read cold: the disk's floor for a get")"
	rm -f "$W/dd.out"
	log "vigil mount"
	"$BIN/vigil" --bundle "$CTLB" --server "127.0.0.1:$VPORT" mount dev "$m" -f >>"$W/mount.log" 2>&1 &
	mp=$!
	spawn_note "$mp"
	MOUNTS="$MOUNTS $m"
	wait_until 20 "vigil mount" mountpoint -q "$m"
	perf_attach mount "$mp"
	perf_attach mount-server "$SPID"
	s0=$(proc_ticks "$SPID") c0=$(proc_ticks "$mp")
	catcold f-mount "$m$f"
	s1=$(proc_ticks "$SPID") c1=$(proc_ticks "$mp")
	perf_detach
	mw=$(mibs "$size" "$T_WALL")
	cmp -s "$f" "$m$f" && rs="equal" || rs="DIFFERS"
	say "$(printf '  %-22s %8s %9s %9s %13s  %s' "vigil mount + cat" "$T_WALL" "$(tsec $((c1 - c0)))" "$(tsec $((s1 - s0)))" "$mw" "$rs; cli CPU = the mount process; RSS $(mib "$(hwm_kib "$mp")") MiB")"
	fusermount3 -u "$m" 2>/dev/null
	stop_pid "$mp"
	stop_pid "$SPID"
	if [ "$HAVE_RESTIC" = 1 ]; then
		restic_env "$W/restic-f"
		{ restic init -q && restic backup -q "$d"; } >"$W/f-restic0.out" 2>&1 || die "restic backup"
		log "restic restore"
		drop_caches
		timed f-rrestore restic restore latest --target "$W/rr"
		cmp -s "$f" "$W/rr$f" && rs="equal" || rs="DIFFERS rc=$T_RC"
		say "$(printf '  %-22s %8s %9s %9s %13s  %s' "restic restore" "$T_WALL" "$T_CPU" "-" "$(mibs "$size" "$T_WALL")" "$rs")"
		rm -rf "$W/rr"
		log "restic mount"
		restic mount "$r" >>"$W/restic-mount.log" 2>&1 &
		mp=$!
		spawn_note "$mp"
		MOUNTS="$MOUNTS $r"
		while [ ! -e "$r/snapshots/latest$f" ] && [ "$i" -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
		c0=$(proc_ticks "$mp")
		catcold f-rmount "$r/snapshots/latest$f"
		c1=$(proc_ticks "$mp")
		say "$(printf '  %-22s %8s %9s %9s %13s  %s' "restic mount + cat" "$T_WALL" "$(tsec $((c1 - c0)))" "-" "$(mibs "$size" "$T_WALL")" "rc=$T_RC")"
		fusermount3 -u "$r" 2>/dev/null
		stop_pid "$mp"
		rm -rf "$W/restic-f"
	fi
	say "  $(target_ge "vigil get MiB/s" "$gw" 400); $(target_ge "vigil mount MiB/s" "$mw" 400)"
}
