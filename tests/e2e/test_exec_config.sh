# test_exec_config.sh — the executor's own configuration and the local
# provider's jail as a user meets them: a root outside the stack is refused
# unless the configuration allows it, .moksha/ is out of reach whatever the
# root, file modes are permission bits and special bits need the
# configuration, and the configuration file is validated strictly.
. "$TOP/tests/e2e/lib.sh"

export MOKSHA_KEY=dd1825558331a27d1d57d11f39ba9c769ead4c8c9e8b526e8da652adbbb82a27
export XDG_CONFIG_HOME="$WORK/xdg"   # no configuration unless a test writes one
mkdir -p outside xdg

stack() { # stack DIR: a stack whose main.moksha is stdin
    rm -rf "$1" && mkdir -p "$1" && cat > "$1/main.moksha"
}

# ---- a root outside the stack: refused before anything runs (exit 1) ----
stack up <<'EOF2'
stack up {}
provider local { root = "../outside" }
resource local.file f { path = "escaped.txt", content = "x" }
EOF2
enter up
expect_exit 0 moksha plan -o p.plan
expect_exit 1 "$MOKSHA_EXEC" apply p.plan && expect_contains "$ERR" "outside the stack directory"
expect_contains "$ERR" "local.allowed_roots"
[ ! -e ../outside/escaped.txt ] || fail "the local provider wrote outside the stack"
# ---- …allowed by the executor's configuration ----
mkdir -p "$XDG_CONFIG_HOME/moksha"
printf '{"format": "moksha.exec-config/v1", "local": {"allowed_roots": ["%s"]}}\n' "$WORK/outside" > "$XDG_CONFIG_HOME/moksha/exec.json"
expect_exit 0 "$MOKSHA_EXEC" config check && expect_contains "$OUT" "exec.json: valid (1 allowed local root"
expect_exit 0 moksha plan -o p.plan
expect_exit 0 "$MOKSHA_EXEC" apply p.plan
expect_file ../outside/escaped.txt
leave
rm -f "$XDG_CONFIG_HOME/moksha/exec.json"

# ---- root "/" and "../..": refused ----
for root in / ../..; do
    stack far <<EOF2
stack far {}
provider local { root = "$root" }
resource local.file f { path = "tmp/moksha-e2e-escape-$$.txt", content = "x" }
EOF2
    enter far
    expect_exit 1 moksha apply --yes && expect_contains "$ERR" "outside the stack directory"
    leave
done
[ ! -e "/tmp/moksha-e2e-escape-$$.txt" ] || fail "root / wrote /tmp"

# ---- root ".": the stack, but never .moksha/ ----
stack dot <<'EOF2'
stack dot {}
provider local { root = "." }
resource local.file site { path = "site/index.html", content = "hello" }
resource local.file key { path = ".moksha/key", content = "0000000000000000000000000000000000000000000000000000000000000000" }
EOF2
enter dot
unset MOKSHA_KEY
expect_exit 0 moksha plan -o p.plan
cp .moksha/key key.before
expect_exit 4 "$MOKSHA_EXEC" apply p.plan && expect_contains "$ERR" "is in the stack's .moksha directory"
expect_same .moksha/key key.before
[ ! -e site/index.html ] || fail "the rollback should have removed site/index.html"
leave
export MOKSHA_KEY=dd1825558331a27d1d57d11f39ba9c769ead4c8c9e8b526e8da652adbbb82a27
# the planner catches a root in .moksha/ already, at the attribute
stack inmoksha <<'EOF2'
stack inmoksha {}
provider local { root = ".moksha/sim" }
resource local.file f { path = "x" }
EOF2
enter inmoksha
expect_exit 1 moksha plan && expect_contains "$ERR" "error[E0205]: the local provider's root cannot be in .moksha/"
leave

# ---- modes: permission bits only; special bits by the configuration ----
stack modes <<'EOF2'
stack modes {}
resource local.file bad { path = "bad", mode = "4777" }
EOF2
enter modes
expect_exit 1 moksha plan && expect_contains "$ERR" "mode is octal permission bits"
leave
stack special <<'EOF2'
stack special {}
resource local.directory shared { path = "shared", mode = "0775", special_bits = ["setgid"] }
EOF2
enter special
expect_exit 0 moksha plan -o p.plan
expect_exit 4 "$MOKSHA_EXEC" apply p.plan && expect_contains "$ERR" "local.allow_special_bits"
printf '{"format": "moksha.exec-config/v1", "local": {"allow_special_bits": true}}\n' > ../special.json
chmod 600 ../special.json
expect_exit 0 env MOKSHA_EXEC_CONFIG="$WORK/special.json" "$MOKSHA_EXEC" apply p.plan
[ "$(stat -c %a .moksha/out/shared)" = 2775 ] || fail "shared should have mode 2775, has $(stat -c %a .moksha/out/shared)"
leave

# ---- the configuration is strict (checked from a stack: the files are outside it) ----
enter special
expect_exit 1 env MOKSHA_EXEC_CONFIG="$WORK/none.json" "$MOKSHA_EXEC" config check && expect_contains "$ERR" "none.json"
printf '{"format": "moksha.exec-config/v1", "local": {"allowed_roots": ["relative"], "x": 1}}\n' > ../bad.json
expect_exit 1 env MOKSHA_EXEC_CONFIG="$WORK/bad.json" "$MOKSHA_EXEC" config check && expect_contains "$ERR" "bad.json: key \`local.x\`: unknown setting"
printf '{"format": "moksha.exec-config/v1"}\n' > ../open.json && chmod 666 ../open.json
expect_exit 1 env MOKSHA_EXEC_CONFIG="$WORK/open.json" "$MOKSHA_EXEC" config check && expect_contains "$ERR" "writable by everyone"
expect_exit 1 env MOKSHA_EXEC_CONFIG="$WORK/open.json" "$MOKSHA_EXEC" apply p.plan && expect_contains "$ERR" "writable by everyone"
leave
# …and never a file of the stack: whoever changes the stack would change it
enter special
printf '{"format": "moksha.exec-config/v1", "local": {"allow_special_bits": true}}\n' > exec.json && chmod 600 exec.json
expect_exit 1 env MOKSHA_EXEC_CONFIG=exec.json "$MOKSHA_EXEC" apply p.plan && expect_contains "$ERR" "cannot be in the stack directory"
leave
