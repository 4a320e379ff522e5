#!/bin/sh
# Robustness: no input makes `moksha check` crash or hang.
#
#   sh tests/robust.sh BUILD
#
# Inputs, all reproducible (ROBUST_SEED, default 1):
#   - 300 generated files: random bytes, random streams of the language's
#     tokens, and mutated copies of real stacks (examples and golden cases);
#   - hand-written edge cases (deep nesting, huge numbers, overflow,
#     unterminated constructs, NUL and invalid UTF-8, self-imports, ...);
#   - every byte prefix of each examples/*/*.moksha (every 7th above 4 KB).
# Each runs as `moksha check FILE` in a scratch directory, limited to 10 s. A
# failure is an exit status other than 0 or 1 (a crash, a timeout), a sanitizer report,
# or status 1 without a diagnostic (`file:L:C: error[ENNNN]` or
# `moksha: error`) on stderr. Failing inputs are saved in BUILD/robust-failures/.
# With MOKSHA_VALGRIND set, 20 of the inputs also run under valgrind.
set -u

BUILD=${1:-build}
TOP=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
MOKSHA=$BUILD/moksha
SEED=${ROBUST_SEED:-1}
NGEN=${ROBUST_FILES:-300}
# At most this many prefixes (more examples take sparser prefixes), which
# keeps the run near a minute; an ASan build starts slower, so it takes fewer.
MAXPREFIX=${ROBUST_MAX_PREFIXES:-3000}
LIMIT=${ROBUST_LIMIT:-10}
KEEP=$BUILD/robust-failures

if [ ! -x "$MOKSHA" ]; then
    echo "robust: $MOKSHA is missing or not executable (run make first)" >&2
    exit 1
fi
ASAN=
grep -q __asan_init "$MOKSHA" 2>/dev/null && ASAN=yes
[ -n "$ASAN" ] && [ -z "${ROBUST_MAX_PREFIXES:-}" ] && MAXPREFIX=1200
[ -n "$ASAN" ] && [ -z "${ROBUST_LIMIT:-}" ] && LIMIT=30   # sanitized code runs several times slower

TMP=$(mktemp -d "${TMPDIR:-/tmp}/moksha-robust.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM HUP PIPE
rm -rf "$KEEP"
cd "$TOP" || exit 1

export LC_ALL=C NO_COLOR=1
# Sanitizers exit with status 1 by default, which would pass for a diagnostic.
export ASAN_OPTIONS="exitcode=86:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="exitcode=87:print_stacktrace=1:${UBSAN_OPTIONS:-}"
for v in $(env | sed -n 's/^\(MOKSHA_VAR_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done

t_start=$(date +%s)
mkdir -p "$TMP/gen" "$TMP/edge"

# ---- 1. generated inputs (one awk run writes them all) ----
sources=$(ls examples/*/*.moksha tests/golden/check/*.moksha tests/golden/check/*/*.moksha 2>/dev/null)
awk -v seed="$SEED" -v n="$NGEN" -v dir="$TMP/gen" -v srcs="$sources" '
function pick(a, n) { return a[int(rand() * n) + 1] }
function bytes(f, len,   i) {
    for (i = 0; i < len; i++) printf "%c", int(rand() * 256) > f
}
function tokens(f, len,   out, t, r) {
    out = 0
    while (out < len) {
        t = pick(tok, ntok)
        r = rand()
        t = t (r < 0.6 ? " " : r < 0.85 ? "\n" : r < 0.9 ? "  " : "")
        printf "%s", t > f
        out += length(t)
    }
}
# A real stack with a few random edits: a token replaced, a line deleted,
# duplicated or swapped, a token inserted. Gets past the parser often.
function mutate(f,   s, nl, i, k, e, j, w, tmp, L, r, line, word) {
    s = pick(srcs_a, nsrc)
    nl = 0
    while ((getline L < s) > 0) line[++nl] = L
    close(s)
    if (nl == 0) { tokens(f, 100); return }
    k = 1 + int(rand() * 4)
    for (e = 0; e < k; e++) {
        i = 1 + int(rand() * nl)
        r = rand()
        if (r < 0.35) {
            w = split(line[i], word, " ")
            if (w > 0) {
                j = 1 + int(rand() * w)
                word[j] = pick(tok, ntok)
                tmp = word[1]
                for (j = 2; j <= w; j++) tmp = tmp " " word[j]
                line[i] = "  " tmp
            }
        } else if (r < 0.55) line[i] = ""
        else if (r < 0.7) line[i] = line[i] "\n" line[i]
        else if (r < 0.85) { j = 1 + int(rand() * nl); tmp = line[i]; line[i] = line[j]; line[j] = tmp }
        else line[i] = pick(tok, ntok) " " line[i]
    }
    for (i = 1; i <= nl; i++) print line[i] > f
}
BEGIN {
    srand(seed)
    ntok = split("{ } [ ] ( ) = \" ${ resource compute x var let 4GiB 20ms $12 # /* \"\"\" */ // " \
        ", ; : . + - * / % ! && || ? == != < <= > >= in for if else " \
        "stack provider output import policy test type module lifecycle placement usage " \
        "count for_each each.key each.value count.index depends_on true false null " \
        "1_000 3.5 0 -1 512MiB 100GB 1TB 7d 5m $12.50 \"str\" \"a${x}b\" \"${ }\" \\ \\n " \
        "network.main compute.web[0].id compute.web[*].id [for x in [1,2]: x] " \
        "local.file int string size duration money secret map(string) list(int) enum(\"a\") " \
        "where @computed @resource @force_new stack.env var.x tags cpu memory image " \
        "\"\\u{1F600}\" \"\\\" é 9223372036854775807 99999999999999999999 1e308 $", tok, " ")
    nsrc = split(srcs, srcs_a, "\n")
    for (i = 0; i < n; i++) {
        f = sprintf("%s/%03d.moksha", dir, i)
        printf "" > f
        len = int(rand() * 2001)
        r = i % 5
        if (r < 2) bytes(f, len)
        else if (r < 4 || nsrc == 0) tokens(f, len)
        else mutate(f)
        close(f)
    }
}' || { echo "robust: generating inputs failed" >&2; exit 1; }

# ---- 2. edge cases, each a file under $TMP/edge ----
rep() { awk -v s="$1" -v n="$2" 'BEGIN { for (i = 0; i < n; i++) printf "%s", s }'; }
e=$TMP/edge
: >"$e/empty.moksha"
{ printf 'let x = '; rep '(' 100000; printf '1'; rep ')' 100000; echo; } >"$e/deep_paren.moksha"
{ printf 'let x = '; rep '[' 100000; echo; } >"$e/deep_list_open.moksha"
{ printf 'let x = '; rep '{a = ' 50000; printf '1'; rep '}' 50000; echo; } >"$e/deep_map.moksha"
{ printf 'let x = '; rep '"${' 20000; printf '1'; rep '}"' 20000; echo; } >"$e/deep_interp.moksha"
{ printf 'let x = '; rep '-' 100000; echo 1; } >"$e/deep_unary.moksha"
{ printf 'let x = 1'; rep ' + 1' 200000; echo; } >"$e/long_sum.moksha"
{ printf 'let '; rep 'a' 300000; echo ' = 1'; } >"$e/long_ident.moksha"
{ printf 'let x = "'; rep 'x' 1000000; echo '"'; } >"$e/long_string.moksha"
rep 'let = \n' 20000 >"$e/many_errors.moksha"
rep 'resource network n {\n' 5000 >"$e/many_unclosed.moksha"
cat >"$e/numbers.moksha" <<'EOF'
let a = 99999999999999999999999999999999999999
let b = 9223372036854775807 + 1
let c = (0 - 9223372036854775807 - 1) / -1
let d = (0 - 9223372036854775807 - 1) % -1
let e = 1 / 0
let f = 1 % 0
let g = 18446744073709551616GiB
let h = 9223372036854775807 * 9223372036854775807
let i = 16777216TiB * 1000000
let j = 1e400
let k = $99999999999999999999.99
let l = 1_000_000_000_000_000_000_000
let m = 0.1 + 1e308 * 10
let n = 2 * 4GiB - 1 * 20ms
let o = 1___0
let p = 0x10
EOF
cat >"$e/huge_count.moksha" <<'EOF'
resource network n {
  count = 1000000000000
  cidr  = "10.0.0.0/16"
}
resource local.file f {
  for_each = { for i in [1, 2, 3]: "k${i}" => i }
  path = "x${each.key}"
}
EOF
cat >"$e/unterminated.moksha" <<'EOF'
let a = "abc ${ "def
let b = """ never closed
/* nor this
EOF
printf 'let s = """\n  ${"${"' >"$e/unterminated_interp.moksha"
printf 'let x = "a\000b"\nlet y\000 = 1\n\000' >"$e/nul.moksha"
printf 'let x = "\377\376"\nlet \303\251 = 1\nlet y = "\300\257"\n\355\240\200\n' >"$e/bad_utf8.moksha"
printf 'stack s {\r\n  env = "dev"\r\n}\r\nlet x = 1\rlet y = 2\r' >"$e/crlf.moksha"
printf '\357\273\277let x = 1\n' >"$e/bom.moksha"
printf 'import "self_import.moksha"\nimport "./self_import.moksha"\nlet x = 1\n' >"$e/self_import.moksha"
printf 'import "/dev/zero"\n' >"$e/import_dev_zero.moksha"
printf 'import "."\nimport ".."\nimport ""\nimport "/"\n' >"$e/import_dirs.moksha"
printf 'let x = x\nlet a = b\nlet b = c\nlet c = a\nresource network n { cidr = network.n.id }\n' >"$e/self_refs.moksha"
printf 'var v: list(list(list(map(set(enum("a")))))) = [[[{}]]] where v == v : "${v}"\n' >"$e/types.moksha"
cat >"$e/policy_test.moksha" <<'EOF'
policy "p" { deny if true : "${" }
test "t" { expect = policy("p") }
module m = "nowhere" { a = 1 }
type t { f: t }
type u { g: v }
type v { h: u }
EOF

# ---- 3. the job list: one line per input, LABEL FILE ----
jobs=$TMP/jobs
for f in "$TMP"/gen/*.moksha; do
    b=${f##*/}
    echo "random-${b%.moksha} $f"
done >"$jobs"
ngen=$(wc -l <"$jobs")
for f in "$TMP"/edge/*.moksha; do
    b=${f##*/}
    echo "edge-${b%.moksha} $f"
done >>"$jobs"
nedge=$(($(wc -l <"$jobs") - ngen))

# Prefixes are written by awk in one pass per example (a `head -c` per prefix
# costs more than the check itself); cmp makes sure awk kept every byte.
examples=$(ls examples/*/*.moksha 2>/dev/null)
total=0
for f in $examples; do
    s=$(wc -c <"$f")
    [ "$s" -gt 4096 ] && s=$((s / 7))
    total=$((total + s + 1))
done
scale=$(((total + MAXPREFIX - 1) / MAXPREFIX))
[ "$scale" -lt 1 ] && scale=1
nfiles=0
for f in $examples; do
    s=$(wc -c <"$f")
    step=1
    [ "$s" -gt 4096 ] && step=7
    step=$((step * scale))
    d=$TMP/prefix/$nfiles
    mkdir -p "$d"
    awk -v f="$f" -v d="$d" -v s="$s" -v step="$step" 'BEGIN { RS = "\001" }
        { all = all (NR > 1 ? RS : "") $0 }
        END {
            for (i = 0; i <= s; i += step) {
                out = sprintf("%s/%07d.moksha", d, i)
                printf "%s", substr(all, 1, i) > out
                close(out)
                print f ":" i, out
            }
            out = d "/full"
            printf "%s", all > out
        }' "$f" >>"$jobs"
    if ! cmp -s "$f" "$d/full"; then
        echo "robust: awk could not copy $f byte for byte" >&2
        exit 1
    fi
    nfiles=$((nfiles + 1))
done
nprefix=$(($(wc -l <"$jobs") - ngen - nedge))
[ -z "$examples" ] && echo "robust: note: no examples/*/*.moksha yet, so no prefixes"

# ---- 4. run them, one worker per CPU ----
# Process creation is most of the run time, so an input costs one process:
# instead of a `timeout` per input, each worker has a watchdog that kills the
# check it is waiting for once that has run LIMIT seconds.

# One input: appends "RC LABEL" to results, and on failure a line to fails.
run_one() {
    seq=$((seq + 1))
    "$MOKSHA" check "$2" >out 2>err </dev/null &
    pid=$!
    echo "$pid $seq" >cur
    wait "$pid"
    rc=$?
    why=
    killed=
    [ -f killed ] && read -r killed <killed
    case $rc in
    0) ;;
    1)  # Usually the first line is the diagnostic; `read` spares a grep.
        first=
        read -r first <err
        case $first in
        *:[0-9]*:[0-9]*": error[E"[0-9][0-9][0-9][0-9]"]"* | "moksha: error"*) ;;
        *) grep -Eq ':[0-9]+:[0-9]+: error\[E[0-9]{4}\]|^moksha: error' err ||
            why="exit 1 without a diagnostic (stderr: $(head -c 200 err | tr '\n' ' '))" ;;
        esac ;;
    *)  if [ "$killed" = "$pid $seq" ]; then
            why="timed out after ${LIMIT}s"
        elif grep -q 'Sanitizer\|runtime error:' err; then
            why="sanitizer report (exit $rc): $(grep -m1 'Sanitizer\|runtime error:' err)"
        elif [ "$rc" -gt 128 ]; then
            why="killed by signal $((rc - 128))"
        elif [ "$rc" -eq 126 ] || [ "$rc" -eq 127 ]; then
            why="exit status $rc: moksha could not be run (was it being rebuilt?)"
        else
            why="exit status $rc"
        fi ;;
    esac
    echo "$rc $1" >>"$results"
    if [ -n "$why" ]; then
        saved=$KEEP/$(echo "$1" | tr '/:' '__').moksha
        mkdir -p "$KEEP" && cp "$2" "$saved"
        echo "FAIL $1: $why; run: timeout $LIMIT $MOKSHA check $saved" >>"$fails"
    fi
}

# watchdog: every second, look at which check the worker waits for (the
# "PID SEQ" in cur); kill it when it is the same one for LIMIT seconds.
watchdog() {
    last='' ticks=0
    while [ -f running ]; do
        sleep 1
        now=
        read -r now <cur 2>/dev/null
        if [ -n "$now" ] && [ "$now" = "$last" ]; then
            ticks=$((ticks + 1))
        else
            ticks=0 last=$now
        fi
        if [ "$ticks" -ge "$LIMIT" ]; then
            echo "$now" >killed
            kill -KILL "${now%% *}" 2>/dev/null
            ticks=0
        fi
    done
}

worker() {
    wdir=$TMP/w$1
    results=$TMP/results.$1 fails=$TMP/fails.$1
    mkdir -p "$wdir" && cd "$wdir" || exit 1
    : >"$results"
    : >"$fails"
    : >cur
    : >running
    seq=0
    # Bound memory so a runaway input fails instead of swapping the machine
    # (not under ASan, which reserves terabytes of address space).
    # shellcheck disable=SC3045 # dash and bash have ulimit -v
    [ -n "$ASAN" ] || ulimit -v 4194304 2>/dev/null
    watchdog &
    dog=$!
    while read -r label file; do
        run_one "$label" "$file"
    done <"$TMP/jobs.$1"
    rm -f running
    kill "$dog" 2>/dev/null
    wait "$dog" 2>/dev/null
}

ncpu=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
[ "$ncpu" -ge 1 ] 2>/dev/null || ncpu=1
[ "$ncpu" -gt 8 ] && ncpu=8
awk -v n="$ncpu" -v d="$TMP" '{ print > (d "/jobs." (NR % n)) }' "$jobs"
pids=
i=0
while [ "$i" -lt "$ncpu" ]; do
    touch "$TMP/jobs.$i"
    worker "$i" 2>"$TMP/worker.$i.log" &    # the shell's "Segmentation fault" notes
    pids="$pids $!"
    i=$((i + 1))
done
for p in $pids; do wait "$p"; done

cat "$TMP"/results.* >"$TMP/results"
cat "$TMP"/fails.* | sort >"$TMP/fails"
ninputs=$(wc -l <"$TMP/results")
n0=$(awk '$1 == 0' "$TMP/results" | wc -l)
n1=$(awk '$1 == 1' "$TMP/results" | wc -l)
nfail=$(wc -l <"$TMP/fails")
njobs=$(wc -l <"$jobs")
if [ "$ninputs" -ne "$njobs" ]; then
    echo "FAIL robust: only $ninputs of $njobs inputs reported a result"
    nfail=$((nfail + 1))
fi

shown=40
head -n "$shown" "$TMP/fails"
[ "$nfail" -gt "$shown" ] && echo "... and $((nfail - shown)) more failures (inputs in $KEEP/)"

# ---- 5. a sample under valgrind ----
nvg=0 nvgfail=0
if [ -n "${MOKSHA_VALGRIND:-}" ]; then
    if ! command -v valgrind >/dev/null 2>&1; then
        echo "robust: MOKSHA_VALGRIND is set but valgrind is not installed; skipped"
    elif [ -n "$ASAN" ]; then
        echo "robust: MOKSHA_VALGRIND is set but $MOKSHA is built with ASan; skipped"
    else
        every=$((njobs / 20))
        [ "$every" -lt 1 ] && every=1
        awk -v k="$every" '(NR - 1) % k == 0 && ++n <= 20' "$jobs" >"$TMP/vgjobs"
        mkdir -p "$TMP/vg" && cd "$TMP/vg" || exit 1
        while read -r label file; do
            timeout -k 5 300 valgrind -q --error-exitcode=99 --leak-check=full \
                --errors-for-leak-kinds=definite "$MOKSHA" check "$file" >out 2>err </dev/null
            rc=$?
            nvg=$((nvg + 1))
            if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
                nvgfail=$((nvgfail + 1))
                saved=$KEEP/$(echo "$label" | tr '/:' '__').moksha
                mkdir -p "$KEEP" && cp "$file" "$saved"
                echo "FAIL valgrind $label: exit $rc; run: valgrind -q --leak-check=full $MOKSHA check $saved"
                grep '^==' err | head -n 20 | sed 's/^/    /'
            fi
        done <"$TMP/vgjobs"
        cd "$TOP" || exit 1
    fi
fi

t_end=$(date +%s)
echo "robust: $njobs inputs ($ngen generated with seed $SEED, $nedge edge cases, $nprefix prefixes of $nfiles example files) in $((t_end - t_start))s"
echo "robust: $n0 exited 0, $n1 exited 1, $nfail failed"
[ -n "${MOKSHA_VALGRIND:-}" ] && echo "robust: valgrind: $nvg inputs, $nvgfail failed"
[ "$nfail" -eq 0 ] && [ "$nvgfail" -eq 0 ]
