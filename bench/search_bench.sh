#!/usr/bin/env bash
# search_bench.sh — keyword search on a real server, end to end:
#  1. NFILES indexed files (vCards, text notes, a few SQLite databases)
#     captured by `vigild once`: latency of `vigil search --json` (median and
#     p95 over ~50 queries: a word, a Chinese name, a phone number written in
#     another form than stored, two words), each checked to list the file it
#     was made from; index size (DIR/search.db + its -wal) vs content size.
#  2. NVERSIONS versions of one large SQLite database of messages (each
#     version updates a few rows and inserts a few): search.db after each
#     `vigild once`, once the indexer has caught up.  The index must grow
#     with the new text, not with versions x database size.
# The indexer is waited for by polling a marker word written last until it
# is found and `vigil status` reports nothing pending.
#
# Standalone: its own server (127.0.0.1 only), devices and data in a temp
# dir, all removed at the end.  Prints a table and appends it to
# bench/results-search.txt.
# Usage: bench/search_bench.sh [NFILES (10000)] [NVERSIONS (100)] [DB_MIB (16)]
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/build/bin}
NFILES=${1:-10000}
NVERSIONS=${2:-100}
DB_MIB=${3:-16}
RESULTS=${RESULTS:-$ROOT/bench/results-search.txt}
W=$(mktemp -d /tmp/vigil-sbench.XXXXXX)
PIDS=""

cleanup() {
	set +e
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$W"
}
trap cleanup EXIT INT TERM
# a private copy: a rebuild in the tree meanwhile does not pull binaries away
mkdir -p "$W/bin"
cp "$BIN/vigil" "$BIN/vigild" "$BIN/vigil-server" "$W/bin/"
BIN=$W/bin

die() { echo "search_bench: $*" >&2; exit 1; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
kib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1024 }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1048576 }'; }
fsize() { stat -c %s "$1" 2>/dev/null || echo 0; }
# search.db + its WAL as files on disk, and the bytes its pages hold
# (page_count - freelist, read through SQLite, so the WAL's pages count once)
idx_files() { echo $(($(fsize "$W/srv/search.db") + $(fsize "$W/srv/search.db-wal"))); }
idx_pages() {
	sqlite3 -readonly "$W/srv/search.db" \
		'SELECT (p.page_count - f.freelist_count) * s.page_size FROM pragma_page_count p,
		 pragma_freelist_count f, pragma_page_size s' 2>/dev/null || echo 0
}
idx_count() { sqlite3 -readonly "$W/srv/search.db" "SELECT count(*) FROM $1" 2>/dev/null || echo 0; }

search() { "$BIN/vigil" search "$@" --json; }
# wait_indexed DEVICE MARKER SECONDS: until MARKER is found and nothing is pending
wait_indexed() {
	local i=0 pend
	while [ "$i" -lt $(($3 * 10)) ]; do
		if [ "$(search "$1" "$2" | jq length)" -ge 1 ]; then
			pend=$("$BIN/vigil" status "$1" --json | jq '.index.pending // 0')
			[ "$pend" = 0 ] && return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	die "the indexer did not catch up within $3 s ($2)"
}

PORT=$(( (RANDOM % 20000) + 30000 ))
while ss -ltnH "sport = :$PORT" | grep -q .; do PORT=$(( (RANDOM % 20000) + 30000 )); done
"$BIN/vigil-server" init "$W/srv" --listen "127.0.0.1:$PORT" >/dev/null
"$BIN/vigil-server" run "$W/srv" >>"$W/server.log" 2>&1 &
SPID=$!
PIDS="$PIDS $SPID"
for i in $(seq 100); do ss -ltnH "sport = :$PORT" | grep -q . && break; sleep 0.1; done
"$BIN/vigil-server" enroll "$W/srv" --controller bench --out "$W/ctl.bundle" >/dev/null
"$BIN/vigil-server" enroll "$W/srv" --device phone --out "$W/phone.bundle" >/dev/null
"$BIN/vigil-server" enroll "$W/srv" --device phone2 --out "$W/phone2.bundle" >/dev/null
export VIGIL_BUNDLE=$W/ctl.bundle
once() { # DEVICE ROOT
	"$BIN/vigild" once --bundle "$W/$1.bundle" --state "$W/state-$1" --watch "$2" \
		>>"$W/vigild.log" 2>&1 || { tail -20 "$W/vigild.log"; die "vigild once failed"; }
}

# ---- 1. NFILES files -------------------------------------------------------
D=$W/home
NDB=10
NVCF=$(( (NFILES - NDB) * 6 / 10 ))
NTXT=$(( NFILES - NDB - NVCF ))
echo "== generating $NVCF vCards, $NTXT notes, $NDB SQLite databases"
python3 - "$D" "$NVCF" "$NTXT" "$NDB" "$W/queries.tsv" <<'PY'
import os, random, sqlite3, sys
root, nvcf, ntxt, ndb, qpath = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
rnd = random.Random(4242)
sur = "王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 高 林 罗 郑 梁 谢 宋 唐".split()
giv = "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀 霞 平 刚 桂 英 华 玉 兰 萍 红 鹏 辉 晨 雪 琳 浩 宇 欣 怡 佳 子 涵".split()
syl = [c + v for c in "bdfgklmnprstvz" for v in ("a", "e", "i", "o", "u", "ar", "en", "ol")]
vocab = sorted({"".join(rnd.choice(syl) for _ in range(rnd.randint(2, 4))) for _ in range(4000)})
def phone(i):   # a unique Chinese mobile number, 11 digits
    return "1%d%d%08d" % (3 + i % 6, i % 10, (i * 7919 + 12345) % 100000000)
def rare(kind, i):  # a word found in exactly one file
    return "%s%s%d" % (kind, "".join(rnd.choice(syl) for _ in range(2)), i)
q = []
os.makedirs(os.path.join(root, "contacts"), exist_ok=True)
for i in range(nvcf):
    d = os.path.join(root, "contacts", "g%02d" % (i // 500))
    os.makedirs(d, exist_ok=True)
    name = rnd.choice(sur) + "".join(rnd.choice(giv) for _ in range(rnd.randint(1, 2)))
    n = phone(i)
    shown = "%s %s %s" % (n[:3], n[3:7], n[7:]) if i % 2 else "+86 %s-%s-%s" % (n[:3], n[3:7], n[7:])
    asked = "+86%s" % n if i % 2 else "%s %s %s" % (n[:3], n[3:7], n[7:])
    w1, w2 = rnd.choice(vocab), rare("v", i)
    p = os.path.join(d, "c%05d.vcf" % i)
    with open(p, "w") as f:
        f.write("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:%s\r\nN:%s;%s;;;\r\nTEL;TYPE=CELL:%s\r\n"
                "EMAIL:%s@example.cn\r\nNOTE:%s %s met at %s\r\nEND:VCARD\r\n"
                % (name, name[0], name[1:], shown, w2, w1, w2, rnd.choice(vocab)))
    if i % 800 == 7:
        q.append(("chinese name", name, "", p))
    if i % 800 == 207:
        q.append(("phone number", asked, "", p))
    if i % 800 == 407:
        q.append(("two words", name, w1, p))
for i in range(ntxt):
    d = os.path.join(root, "notes", "g%02d" % (i // 500))
    os.makedirs(d, exist_ok=True)
    words = [rnd.choice(vocab) for _ in range(rnd.randint(60, 400))]
    tag = rare("n", i)
    words.insert(rnd.randrange(len(words)), tag)
    if i % 3 == 0:
        words.insert(rnd.randrange(len(words)), "会议记录：%s%s明天来" % (rnd.choice(sur), rnd.choice(giv)))
    if i % 5 == 0:
        n = phone(nvcf + i)
        words.insert(rnd.randrange(len(words)), "call 0086 %s" % n)
    p = os.path.join(d, "n%05d.txt" % i)
    with open(p, "w") as f:
        for k in range(0, len(words), 12):
            f.write(" ".join(words[k:k + 12]) + "\n")
    if i % 600 == 11:
        q.append(("word (1 file)", tag, "", p))
    if i % 600 == 211:
        q.append(("word (common)", words[0], "", p))
    if i % 600 == 411:
        q.append(("two words", words[1], words[-1], p))
os.makedirs(os.path.join(root, "db"), exist_ok=True)
for k in range(ndb):
    p = os.path.join(root, "db", "messages%d.db" % k)
    db = sqlite3.connect(p)
    db.execute("CREATE TABLE sms(id INTEGER PRIMARY KEY, addr TEXT, body TEXT, ts INTEGER)")
    rows = []
    for r in range(2000):
        rows.append(("%s" % phone(900000 + k * 2000 + r),
                     " ".join(rnd.choice(vocab) for _ in range(rnd.randint(5, 25))), r))
    tag = rare("db", k)
    rows[1500] = (rows[1500][0], rows[1500][1] + " " + tag, 1500)
    db.executemany("INSERT INTO sms(addr, body, ts) VALUES(?, ?, ?)", rows)
    db.commit()
    db.close()
    q.append(("word (in a db)", tag, "", p))
with open(qpath, "w") as f:
    for kind, a, b, p in q:
        f.write("%s|%s|%s|%s\n" % (kind, a, b, p))
PY
CONTENT=$(find "$D" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
COUNT=$(find "$D" -type f | wc -l)
echo "   $COUNT files, $(mib "$CONTENT") MiB, $(wc -l <"$W/queries.tsv") queries"

t0=$(now_ms)
once phone "$D"
t1=$(now_ms)
echo "mk8bench4marker" >"$D/zz-marker.txt"
once phone "$D"
wait_indexed phone mk8bench4marker 600
t2=$(now_ms)
CAPTURE_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
INDEXED_S=$(awk -v a="$t0" -v b="$t2" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
echo "   vigild once: ${CAPTURE_S} s; indexed (marker found, nothing pending) ${INDEXED_S} s after start"
IDX_FILES=$(idx_files)
IDX_PAGES=$(idx_pages)
STATUS_INDEX=$("$BIN/vigil" status phone --json | jq -c '.index // "-"')

echo "== searching"
: >"$W/lat.tsv"
while IFS='|' read -r kind a b path; do
	set -- "$a"
	[ -n "$b" ] && set -- "$a" "$b"
	s=$(date +%s%N)
	out=$(search phone "$@")
	e=$(date +%s%N)
	echo "$out" | jq -e --arg p "$path" 'any(.[]; .path == $p)' >/dev/null ||
		die "search '$*' ($kind) did not list $path"
	printf '%s\t%s\t%s\n' "$kind" $(((e - s) / 1000)) "$(echo "$out" | jq length)" >>"$W/lat.tsv"
done <"$W/queries.tsv"
# the same connection cost without a search: `vigil devices`
for i in $(seq 10); do
	s=$(date +%s%N)
	"$BIN/vigil" devices --json >/dev/null
	e=$(date +%s%N)
	printf 'baseline\t%s\t0\n' $(((e - s) / 1000)) >>"$W/lat.tsv"
done

# stats KIND|all: n, median ms, p95 ms, median hits
pick() { # column: sorted values of one kind, then the median and p95 of them
	awk -F'\t' -v k="$1" -v c="$2" '(k == "all" && $1 != "baseline") || $1 == k { print $c }' "$W/lat.tsv" | sort -n |
	awk '{ v[NR] = $1 } END { if (NR == 0) { print "- -"; exit }
	      p = int(NR * 0.95 + 0.999); if (p > NR) p = NR; print v[int((NR + 1) / 2)], v[p] }'
}
stats() {
	local n t h
	n=$(awk -F'\t' -v k="$1" '(k == "all" && $1 != "baseline") || $1 == k' "$W/lat.tsv" | wc -l)
	read -r -a t <<<"$(pick "$1" 2)"
	read -r -a h <<<"$(pick "$1" 3)"
	[ "$n" = 0 ] && { echo "0 - - -"; return; }
	awk -v n="$n" -v m="${t[0]}" -v p="${t[1]}" -v h="${h[0]}" \
		'BEGIN { printf "%d %.1f %.1f %d\n", n, m / 1000, p / 1000, h }'
}

# ---- 2. NVERSIONS versions of a large database -----------------------------
echo "== ${DB_MIB} MiB database, $NVERSIONS versions"
L=$W/big
mkdir -p "$L"
ROWS=$((DB_MIB * 1048576 / 150))
W50='["hello","dinner","tonight","meeting","office","train","late","sorry","thanks","call",
 "tomorrow","weekend","birthday","party","photo","address","money","bank","doctor","school",
 "homework","movie","coffee","lunch","airport","flight","hotel","ticket","price","order",
 "package","delivery","password","code","verify","account","mother","father","brother","sister",
 "你好","明天","晚上","吃饭","会议","电话","地址","银行","快递","谢谢"]'
sqlite3 "$L/messages.db" <<SQL
PRAGMA page_size=4096;
CREATE TABLE message(id INTEGER PRIMARY KEY, thread INTEGER, addr TEXT, body TEXT, date INTEGER);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $ROWS)
INSERT INTO message(thread, addr, body, date)
SELECT x % 97, '+86 139' || printf('%08d', (x * 7919) % 100000000),
       'message ' || x || ': ' || json_extract('$W50', '\$[' || (abs(random()) % 50) || ']')
       || ' ' || json_extract('$W50', '\$[' || (abs(random()) % 50) || ']')
       || ' ' || json_extract('$W50', '\$[' || (abs(random()) % 50) || ']')
       || ' at ' || (x % 24) || ':' || printf('%02d', x % 60) || ' ref ' || (abs(random()) % 1000000)
       || ' ' || substr('the quick brown fox jumps over the lazy dog and keeps running far away '
       || 'until the evening when everybody goes home to rest', 1 + abs(random()) % 60, 60),
       1700000000 + x * 60
FROM c;
SQL
DBSIZE=$(fsize "$L/messages.db")
DBTEXT=$(sqlite3 "$L/messages.db" 'SELECT sum(length(addr) + length(body) + 2) FROM message')
echo "   $(mib "$DBSIZE") MiB on disk, $(mib "$DBTEXT") MiB of text in $ROWS rows"
: >"$W/growth.tsv"
newtext=0
for v in $(seq 1 "$NVERSIONS"); do
	if [ "$v" -gt 1 ]; then
		upd="UPDATE message SET body = body || ' edited in v$v' WHERE id IN
		     (abs(random()) % $ROWS + 1, abs(random()) % $ROWS + 1, abs(random()) % $ROWS + 1);"
		ins="INSERT INTO message(thread, addr, body, date) VALUES
		     (1, '+86 13912345678', 'new message ' || hex(randomblob(16)), $v),
		     (2, '+86 13912345679', 'another new message ' || hex(randomblob(16)), $v),
		     (3, '+86 13912345670', 'mkv${v}x marks version $v', $v);"
		sqlite3 "$L/messages.db" "$upd $ins"
		newtext=$((newtext + 3 * 14 + 2 * 60 + 50))
	else
		sqlite3 "$L/messages.db" "INSERT INTO message(thread, addr, body, date)
			VALUES (3, '+86 13912345670', 'mkv${v}x marks version $v', $v);"
	fi
	once phone2 "$L"
	wait_indexed phone2 "mkv${v}x" 120
	printf '%d\t%d\t%d\t%d\t%d\n' "$v" "$(idx_files)" "$(idx_pages)" "$(idx_count pieces)" \
		"$(idx_count content_pieces)" >>"$W/growth.tsv"
	if [ "$v" = 1 ]; then t_v1=$(now_ms); fi
	[ $((v % 10)) != 0 ] || echo "   version $v: $(tail -1 "$W/growth.tsv" | awk '{ printf "search.db %.2f MiB (pages %.2f MiB), %d pieces", $2/1048576, $3/1048576, $4 }')"
done
t3=$(now_ms)

# ---- report ----------------------------------------------------------------
{
	echo
	echo "=== search_bench $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -r) $(nproc) cpus; git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo -)"
	echo "[search: $COUNT files, $(mib "$CONTENT") MiB; vigild once ${CAPTURE_S} s, indexed after ${INDEXED_S} s]"
	printf '  %-16s %4s %10s %10s %10s\n' "query" "n" "median ms" "p95 ms" "hits(med)"
	for k in "word (1 file)" "word (common)" "word (in a db)" "chinese name" "phone number" "two words" all baseline; do
		read -r n med p95 hits <<<"$(stats "$k")"
		printf '  %-16s %4s %10s %10s %10s\n' "$k" "$n" "$med" "$p95" "$hits"
	done
	echo "  (end to end: a new vigil process, TLS handshake, query, JSON; each checked to list its file;"
	echo "   baseline: \`vigil devices\`, the same process and connection cost without a search; load $(cut -d' ' -f1-3 /proc/loadavg))"
	echo "[index size]"
	printf '  content %s MiB; search.db+wal %s MiB (%.2fx); in its pages %s MiB (%.2fx)\n' \
		"$(mib "$CONTENT")" "$(mib "$IDX_FILES")" "$(awk -v a="$IDX_FILES" -v b="$CONTENT" 'BEGIN { print a / b }')" \
		"$(mib "$IDX_PAGES")" "$(awk -v a="$IDX_PAGES" -v b="$CONTENT" 'BEGIN { print a / b }')"
	echo "  status index: $STATUS_INDEX"
	echo "[growth: ${DB_MIB} MiB database ($(mib "$DBSIZE") MiB, $(mib "$DBTEXT") MiB text), $NVERSIONS versions]"
	awk -F'\t' -v text="$DBTEXT" -v nv="$NVERSIONS" -v newtext="$newtext" -v base="$IDX_PAGES" '
		NR == 1 { f1 = $2; p1 = $3; k1 = $4 } { fn = $2; pn = $3; kn = $4; cpn = $5 }
		END {
			printf "  after v1:   search.db+wal %.2f MiB, pages %.2f MiB (+%.2f MiB for the db), %d pieces\n",
				f1 / 1048576, p1 / 1048576, (p1 - base) / 1048576, k1
			printf "  after v%d: search.db+wal %.2f MiB, pages %.2f MiB, %d pieces, %d content_pieces rows\n",
				nv, fn / 1048576, pn / 1048576, kn, cpn
			if (nv > 1)
				printf "  per version: +%.1f KiB pages, +%.1f pieces (new text ~%.0f B/version; re-indexing all would be ~%.2f MiB/version)\n",
					(pn - p1) / (nv - 1) / 1024, (kn - k1) / (nv - 1), newtext / (nv - 1), (p1 - base) / 1048576
		}' "$W/growth.tsv"
	echo "  versions 2..$NVERSIONS: $(awk -v a="$t_v1" -v b="$t3" -v n="$NVERSIONS" 'BEGIN { if (n > 1) printf "%.1f", (b - a) / 1000 / (n - 1); else printf "-" }') s each (sqlite3 edit + vigild once + indexed)"
	echo "  total time $(awk -v a="$t0" -v b="$t3" 'BEGIN { printf "%.0f", (b - a) / 1000 }') s"
} | tee -a "$RESULTS"
