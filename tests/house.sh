#!/bin/sh
# The house rules (docs/architecture.md, "Layers"), checked on the build's
# own object files and on the sources' include lines, so a change that
# breaks one fails `make test` instead of waiting for a reader to notice:
#
#   1. compiler/ is layered: main.c → cli/ → pipeline.c → back/ → middle/ →
#      front/ → base/. A file includes headers of its own layer or below, and
#      calls only functions defined in its own layer or below.
#   2. No import circle between two files, but the evaluator's own
#      (front/eval.c ↔ front/eval_expr.c: one module's recursion).
#   3. A header declares only its own file's functions: every function that
#      DIR/X.h declares is defined by DIR/X.c.
#   4. runtime/ includes nothing of compiler/, and each runtime module's
#      global functions carry its prefix (runtime/lock.c: mk_lock_…).
#
#   sh tests/house.sh BUILD
set -u

BUILD=${1:-build}
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1
OBJ=$BUILD/obj
if [ ! -d "$OBJ/compiler" ] || [ ! -d "$OBJ/runtime" ]; then
    echo "house: $OBJ holds no objects (run make first)" >&2
    exit 1
fi
command -v nm >/dev/null 2>&1 || { echo "house: nm (binutils) is missing" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/moksha-house.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM HUP PIPE
fails=$TMP/fails
: >"$fails"

# level PATH: the layer of a source file or object path (relative to the top
# or to $OBJ); the generated lexer and parser are the front end's.
level_awk='
function level(p) {
    sub("^.*/obj/", "", p)
    if (p ~ /^compiler\/main(\.|$)/) return 6
    if (p ~ /^compiler\/cli\//) return 5
    if (p ~ /^compiler\/pipeline(\.|$)/) return 4
    if (p ~ /^compiler\/back\//) return 3
    if (p ~ /^compiler\/middle\//) return 2
    if (p ~ /^compiler\/front\// || p ~ /^gen\// || p == "parser.h" || p == "lexer.h") return 1
    if (p ~ /^compiler\/base\//) return 0
    return -1
}
function unit(p) { sub("^.*/obj/", "", p); sub("\\.[cho]$", "", p); return p }'

# ---- 1a. include lines ----
find compiler -name '*.[ch]' | sort | while read -r f; do
    sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" | while read -r inc; do
        echo "$f $inc"
    done
done | awk "$level_awk"'
{
    from = level($1); to = level($2)
    if ($2 !~ /^compiler\// && $2 != "parser.h" && $2 != "lexer.h") next
    if (to < 0) { print "include: " $1 " includes " $2 ", which is in no layer"; next }
    if (to > from) print "layer: " $1 " includes " $2 " (a layer above it)"
}' >>"$fails"

grep -rln '#[[:space:]]*include[[:space:]]*"compiler/' runtime 2>/dev/null | while read -r f; do
    echo "runtime: $f includes a compiler/ header (runtime/ includes nothing of compiler/)"
done >>"$fails"

# ---- symbols: "DEF unit symbol" and "USE unit symbol" rows ----
syms=$TMP/syms
# (objects whose source is gone, left by a move, are not the house's)
find "$OBJ/compiler" "$OBJ/gen" "$OBJ/runtime" -name '*.o' | sort | while read -r o; do
    src=${o#"$OBJ"/}
    src=${src%.o}.c
    case $src in gen/*) src=$BUILD/$src ;; esac
    [ -f "$src" ] || continue
    nm "$o" 2>/dev/null | awk -v u="$o" '
        $1 == "U" { print "USE", u, $2; next }
        NF == 3 && $3 ~ /^__(odr_asan|asan|ubsan|sancov)/ { next }  # a sanitizer build'"'"'s own symbols
        NF == 3 && $2 ~ /^[TDBRCGSVW]$/ { print "DEF", u, $3 }'
done >"$syms"

# ---- 1b and 2. calls go down, and no circles but the evaluator's ----
awk "$level_awk"'
$1 == "DEF" { def[$3] = unit($2); next }
$1 == "USE" { use[++n] = unit($2) " " $3 }
END {
    for (i = 1; i <= n; i++) {
        split(use[i], a, " "); from = a[1]; d = def[a[2]]
        if (d == "" || d == from) continue
        if (from ~ /^runtime\// || d ~ /^runtime\//) {
            if ((from ~ /^runtime\//) != (d ~ /^runtime\//))
                print "runtime: " from " and " d " share " a[2] " across the compiler/runtime line"
            continue
        }
        if (level(d) > level(from))
            print "layer: " from " calls " a[2] " of " d " (a layer above it)"
        if (!((from, d) in edge)) { edge[from, d] = a[2]; node[from]; node[d] }
    }
    # transitive closure over a few dozen files
    for (k in node) for (i in node) if ((i, k) in edge || (i, k) in reach) {
        for (j in node) if ((k, j) in edge || (k, j) in reach) reach[i, j] = 1
    }
    for (i in node) for (j in node) {
        if (i >= j) continue
        if (!(((i, j) in edge || (i, j) in reach) && ((j, i) in edge || (j, i) in reach))) continue
        if (i == "compiler/front/eval" && j == "compiler/front/eval_expr") continue
        print "circle: " i " and " j " reach each other"
    }
}' "$syms" | sort -u >>"$fails"

# ---- 3. a header declares its own file's functions ----
# A header without a .c of its name is an interface whose functions are
# defined where this table says (the generated lexer and parser, the
# evaluator's own inside, each provider's constructor).
owners() {
    case $1 in
    compiler/front/lex.h) echo gen/lexer ;;
    compiler/front/parse.h) echo gen/parser ;;
    compiler/front/eval_int.h) echo compiler/front/eval compiler/front/eval_expr ;;
    runtime/providers/provider.h) echo runtime/providers/local runtime/providers/sim runtime/providers/postgres runtime/providers/s3 runtime/providers/azblob runtime/providers/http runtime/providers/plugin ;;
    *) echo "${1%.h}" ;;
    esac
}
find compiler runtime -name '*.h' | sort | while read -r h; do
    own=$(owners "$h")
    c=${h%.h}.c
    # function declarations at file scope: NAME( on a line that is not a
    # macro, typedef, static or a comment
    sed -e 's|/\*.*\*/||g' "$h" | awk '
        /^[[:space:]]*(#|typedef|static|\*|\/\*|\/\/)/ { next }
        /^[A-Za-z_]/ && match($0, /[A-Za-z_][A-Za-z0-9_]*[[:space:]]*\(/) {
            s = substr($0, RSTART, RLENGTH); sub(/[[:space:]]*\($/, "", s)
            if (s !~ /^(__attribute__|_Noreturn|sizeof)$/) print s
        }' | sort -u | while read -r fn; do
        who=$(awk -v s="$fn" '$1 == "DEF" && $3 == s { sub("^.*/obj/", "", $2); sub("\\.o$", "", $2); print $2; exit }' "$syms")
        case " $own " in
        *" $who "*) ;;
        *) echo "header: $h declares $fn, defined in ${who:-no file}${who:+.c}, not in $(echo "$own" | sed 's/\([^ ]*\)/\1.c/g')" ;;
        esac
    done
done >>"$fails"

# ---- 4b. runtime prefixes ----
awk '
$1 != "DEF" || $2 !~ /\/obj\/runtime\// { next }
{
    u = $2; sub("^.*/obj/runtime/", "", u); sub("\\.o$", "", u)
    if (u == "main") next
    p = u; sub("^providers/", "prov_", p)
    if (index($3, "mk_" p "_") != 1 && $3 != "mk_" p)
        print "prefix: runtime/" u ".c defines " $3 " (its functions are mk_" p "_…)"
}' "$syms" >>"$fails"

n=$(wc -l <"$fails")
if [ "$n" -gt 0 ]; then
    cat "$fails"
    echo "house: $n rule(s) broken (tests/house.sh; docs/architecture.md, \"Layers\")"
    exit 1
fi
echo "house: layers, circles, headers and prefixes as the rules say"
