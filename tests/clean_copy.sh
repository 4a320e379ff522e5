#!/bin/sh
# Copy a directory of the source tree without what running moksha in it left
# behind: the demo, the tests and the quality rails work on such copies, so a
# README tour run inside examples/webapp (its .moksha/ state, key, audit log
# and sim world, its plan.json) never leaks into them.
#
#   sh tests/clean_copy.sh SRC DEST
#
# DEST must not exist yet. In a git checkout the copy holds the files git
# lists for SRC — tracked ones, and new ones not yet added unless .gitignore
# ignores them (so an example being written is tested before its commit) —
# minus anything under a `.moksha/` directory. Elsewhere (a release tarball,
# a checkout git refuses to read as another user's, or a directory git
# ignores) SRC is copied whole
# and then `.moksha/` directories and plan files (`moksha.plan/v1` documents,
# whatever their name) are removed.
set -u

if [ $# -ne 2 ]; then
    echo "usage: sh tests/clean_copy.sh SRC DEST" >&2
    exit 1
fi
src=$1 dest=$2
if [ ! -d "$src" ]; then
    echo "clean_copy: $src is not a directory" >&2
    exit 1
fi
if [ -e "$dest" ]; then
    echo "clean_copy: $dest already exists" >&2
    exit 1
fi
mkdir -p "$dest" || exit 1

in_git() {
    [ "$(git -C "$src" rev-parse --is-inside-work-tree 2>/dev/null)" = true ]
}

# from_git: the listed files that exist (a tracked file may be deleted in
# the work tree), through tar so that modes and symlinks are kept. Names git
# has to quote (control characters) are not source files moksha reads.
from_git() {
    list=$(mktemp "${TMPDIR:-/tmp}/moksha-copy.XXXXXX") || return 1
    git -C "$src" -c core.quotepath=off ls-files --cached --others --exclude-standard -- . |
        while IFS= read -r f; do
            case /$f in */.moksha/* | \"*) continue ;; esac
            { [ -e "$src/$f" ] || [ -L "$src/$f" ]; } && printf '%s\n' "$f"
        done | sort -u >"$list"
    rc=0
    if [ -s "$list" ]; then
        tar -C "$src" --verbatim-files-from -T "$list" -cf - | tar -C "$dest" -xf - || rc=1
    else
        rc=2    # git knows nothing here (an ignored directory): not its to say
    fi
    rm -f "$list"
    return $rc
}

# from_tree: everything, then what moksha writes is taken out again.
from_tree() {
    cp -R "$src/." "$dest/" || return 1
    find "$dest" -name .moksha -type d -prune -exec rm -rf {} + || return 1
    find "$dest" -type f -exec sh -c '
        for f; do
            [ "$(head -c 26 "$f")" = "{\"format\":\"moksha.plan/v1\"" ] && rm -f "$f"
        done
        exit 0' sh {} +
}

if in_git; then
    from_git
    case $? in
    0) ;;
    2) from_tree || exit 1 ;;
    *) exit 1 ;;
    esac
else
    from_tree || exit 1
fi
