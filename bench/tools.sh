# bench/tools.sh — one function per tool: sync $S_BASE, then measure $S_NEW.
# Sourced by bench/run.sh (bash); each records one line with record().
# Fields: scenario tool wire app store wall cpu note  ("-" when not measured).

# bench_rsync SCENARIO [tmp]: --inplace (as asked), or with "tmp" rsync's
# default temp-file-and-rename, which can also use blocks that moved forward
# (an --inplace receiver has overwritten them by then).
bench_rsync() {
	local dst=$W/rsync-dst url opts rpid sent recv name=rsync
	command -v rsync >/dev/null || { record "$1" rsync - - - - - "not installed"; return; }
	[ "${2:-}" = tmp ] && name=rsync-tmp
	mkdir -p "$dst"
	rsyncd_conf "$W/rsyncd.conf" "$RPORT" "$dst"
	rsync --daemon --no-detach --config="$W/rsyncd.conf" &
	rpid=$!
	SERVER_PID=$rpid
	url=rsync://127.0.0.1:$RPORT/dst/data
	opts="--no-whole-file --ignore-times --stats"
	[ "$name" = rsync ] && opts="$opts --inplace"
	[ -n "$S_BLOCK" ] && opts="$opts -B $S_BLOCK"
	if ! wait_port "$RPORT" 10 || ! rsync $opts "$S_BASE" "$url" >/dev/null 2>&1; then
		record "$1" $name - - - - - "daemon or first sync failed"
	else
		measure "$rpid" rsync $opts "$S_NEW" "$url"
		sent=$(sed -n 's/^Total bytes sent: *//p' "$W/last.out" | tr -d ,)
		recv=$(sed -n 's/^Total bytes received: *//p' "$W/last.out" | tr -d ,)
		if [ "$M_RC" != 0 ] || ! cmp -s "$S_NEW" "$dst/data"; then
			record "$1" $name "$M_WIRE" - - "$M_WALL" "$M_CPU" "FAILED rc=$M_RC"
		else
			record "$1" $name "$M_WIRE" $((sent + recv)) "0 (no history)" \
				"$M_WALL" "$M_CPU" "sent $sent + received $recv${S_BLOCK:+, -B $S_BLOCK}"
		fi
	fi
	stop_pid "$rpid"
	SERVER_PID=""
	rm -rf "$dst"
}

bench_rsync-tmp() { bench_rsync "$1" tmp; }

bench_rdiff() {
	local b="" wall cpu sig delta
	command -v rdiff >/dev/null || { record "$1" rdiff - - - - - "not installed"; return; }
	[ -n "$S_BLOCK" ] && b="-b $S_BLOCK"
	measure "" rdiff $b signature "$S_BASE" "$W/rdiff.sig"
	wall=$M_WALL cpu=$M_CPU
	measure "" rdiff delta "$W/rdiff.sig" "$S_NEW" "$W/rdiff.delta"
	wall=$(awk -v a="$wall" -v b="$M_WALL" 'BEGIN { printf "%.2f", a + b }')
	cpu=$(awk -v a="$cpu" -v b="$M_CPU" 'BEGIN { printf "%.2f", a + b }')
	sig=$(size_of "$W/rdiff.sig")
	delta=$(size_of "$W/rdiff.delta")
	if rdiff patch "$S_BASE" "$W/rdiff.delta" "$W/rdiff.out" && cmp -s "$S_NEW" "$W/rdiff.out"; then
		record "$1" rdiff - $((sig + delta)) "$delta" "$wall" "$cpu" \
			"sig $sig + delta $delta${S_BLOCK:+, -b $S_BLOCK}"
	else
		record "$1" rdiff - - - "$wall" "$cpu" "FAILED (patch mismatch)"
	fi
	rm -f "$W/rdiff.sig" "$W/rdiff.delta" "$W/rdiff.out"
}

bench_restic() {
	local src=$W/restic-src s0 s1 added
	command -v restic >/dev/null || { record "$1" restic - - - - - "not installed"; return; }
	export RESTIC_PASSWORD=bench RESTIC_REPOSITORY=$W/restic XDG_CACHE_HOME=$W/cache
	mkdir -p "$src"
	cp "$S_BASE" "$src/data"
	if ! restic init -q >/dev/null 2>&1 || ! restic backup -q "$src" >/dev/null 2>&1; then
		record "$1" restic - - - - - "init or first backup failed"
	else
		s0=$(du_bytes "$W/restic")
		cp "$S_NEW" "$src/data"
		measure "" restic backup "$src"
		s1=$(du_bytes "$W/restic")
		added=$(sed -n 's/^Added to the repository: *//p' "$W/last.out" | head -1)
		if [ "$M_RC" = 0 ]; then
			record "$1" restic - - $((s1 - s0)) "$M_WALL" "$M_CPU" "local repo; added: $added"
		else
			record "$1" restic - - - "$M_WALL" "$M_CPU" "FAILED rc=$M_RC"
		fi
	fi
	unset RESTIC_PASSWORD RESTIC_REPOSITORY
	rm -rf "$W/restic" "$W/cache" "$src"
}

have_vigil() {
	[ -x "$BIN/vigil-server" ] && [ -x "$BIN/vigild" ] && [ -x "$BIN/vigil" ] &&
		"$BIN/vigil-server" --help >/dev/null 2>&1 && "$BIN/vigild" --help >/dev/null 2>&1
}

# vigil_check FILE: the server's latest version of the watched file is FILE.
# A SQLite database is captured by vigild through SQLite's backup API (a
# consistent snapshot, not the same bytes), so it is fetched back with
# `vigil get` and compared by its SQL dump.
vigil_check() {
	local json n sum want
	json=$(timeout 60 "$BIN/vigil" --bundle "$W/ctl.bundle" --server "127.0.0.1:$VPORT" \
		log "bench:$V_WATCH/data" --json 2>"$W/vlog.err") || { V_WHY="log failed: $(head -c 200 "$W/vlog.err")"; return 1; }
	n=$(printf '%s' "$json" | jq 'length' 2>/dev/null)
	V_VERSIONS=$n
	if [ "$S_EDIT" = sqlite ]; then
		rm -f "$W/vget.db"
		timeout 120 "$BIN/vigil" --bundle "$W/ctl.bundle" --server "127.0.0.1:$VPORT" \
			get "bench:$V_WATCH/data" -o "$W/vget.db" >"$W/vget.err" 2>&1 ||
			{ V_WHY="get failed: $(head -c 200 "$W/vget.err")"; return 1; }
		[ "$(sqlite3 "$W/vget.db" .dump | sha256sum)" = "$(sqlite3 "$1" .dump | sha256sum)" ] ||
			{ V_WHY="fetched database differs (SQL dump)"; return 1; }
		V_HOW="fetched database's SQL dump matches"
		return 0
	fi
	sum=$(printf '%s' "$json" | jq -r '.[-1].sha256' 2>/dev/null)
	want=$(sha256sum <"$1" | cut -d' ' -f1)
	[ "$sum" = "$want" ] || { V_WHY="latest sha256 $sum != $want ($n versions)"; return 1; }
	V_HOW="latest sha256 matches"
}

vigil_start() {
	local S=$W/vsrv
	"$BIN/vigil-server" init "$S" --listen "127.0.0.1:$VPORT" >"$W/vinit.out" 2>&1 &&
		"$BIN/vigil-server" enroll "$S" --device bench --out "$W/dev.bundle" >>"$W/vinit.out" 2>&1 &&
		"$BIN/vigil-server" enroll "$S" --controller benchctl --out "$W/ctl.bundle" >>"$W/vinit.out" 2>&1 ||
		{ V_WHY="init/enroll failed: $(tail -1 "$W/vinit.out")"; return 1; }
	"$BIN/vigil-server" run "$S" >"$W/vserver.log" 2>&1 &
	SERVER_PID=$!
	wait_port "$VPORT" 20 || { V_WHY="server did not listen"; return 1; }
}

# vigild once, as a plain command line (measure runs it under /usr/bin/time)
vigild_once_cmd() {
	V_ONCE=(timeout 900 "$BIN/vigild" once --bundle "$W/dev.bundle" --state "$W/vstate"
		--watch "$V_WATCH" --server "127.0.0.1:$VPORT" ${VIGILD_FLAGS:-})
}

bench_vigil() {
	local s0 s1 note first
	V_WHY="" V_WATCH=$W/vwatch
	if ! have_vigil; then
		record "$1" vigil - - - - - "not built yet ($BIN)"
		return
	fi
	rm -rf "$W/vsrv" "$W/vstate" "$V_WATCH" "$W/dev.bundle" "$W/ctl.bundle"
	mkdir -p "$V_WATCH" "$W/vstate"
	cp "$S_BASE" "$V_WATCH/data"
	vigild_once_cmd
	if ! vigil_start; then
		record "$1" vigil - - - - - "$V_WHY"
	elif ! measure "$SERVER_PID" "${V_ONCE[@]}" || [ "$M_RC" != 0 ] || ! vigil_check "$S_BASE"; then
		record "$1" vigil - - - - - "first sync failed: ${V_WHY:-$(tail -1 "$W/last.out")}"
	else
		first="first upload $(human "$M_WIRE") in ${M_WALL} s"
		s0=$(du_bytes "$W/vsrv/store")
		if [ "$S_EDIT" = ovw ]; then    # edit in place, as an application would
			dd if="$W/patch4k" of="$V_WATCH/data" bs=4096 count=1 seek="$OVW_OFF" \
				oflag=seek_bytes conv=notrunc status=none
		else
			cp "$S_NEW" "$V_WATCH/data"
		fi
		measure "$SERVER_PID" "${V_ONCE[@]}"
		s1=$(du_bytes "$W/vsrv/store")
		cp "$W/last.out" "$W/vonce1.out"
		if [ "$M_RC" != 0 ]; then
			record "$1" vigil "$M_WIRE" - - "$M_WALL" "$M_CPU" "FAILED rc=$M_RC: $(tail -1 "$W/vonce1.out")"
		elif ! vigil_check "$S_NEW"; then
			record "$1" vigil "$M_WIRE" - $((s1 - s0)) "$M_WALL" "$M_CPU" "NOT VERIFIED: $V_WHY"
		else
			note="verified: $V_VERSIONS versions, $V_HOW; $first"
			record "$1" vigil "$M_WIRE" - $((s1 - s0)) "$M_WALL" "$M_CPU" "$note"
		fi
	fi
	stop_pid "$SERVER_PID"
	SERVER_PID=""
	rm -rf "$W/vsrv" "$W/vstate" "$V_WATCH" "$W/dev.bundle" "$W/ctl.bundle"
}
