# test_plugin_faults.sh — a plugin that crashes or hangs mid-apply fails
# only its own step: the apply rolls the others back (exit 4) and says what
# the plugin did; the next run starts the plugin anew. Both plugins are
# allowed (tests/plugins/crash, tests/plugins/hang); the hang's timeout is
# short, so the test takes seconds.
. "$TOP/tests/e2e/lib.sh"

mkdir -p opt/sec etc stack
cp -r "$TOP/tests/plugins/crash" "$TOP/tests/plugins/hang" "$TOP/tests/plugins/inject" opt/
cp "$TOP/tests/plugins/envprobe/plugin" opt/sec/plugin
cat >opt/sec/schema.moksha <<'M'
@resource type sec.note {
  text: string
  key:  secret = null
  keys: map(secret) = {}
  @computed id: string
}
M
chmod -R go-w opt
cat >etc/exec.json <<J
{"format": "moksha.exec-config/v1",
 "plugins": {
   "crash": {"dir": "$WORK/opt/crash", "digest": "$("$MOKSHA_EXEC" plugin digest opt/crash)"},
   "hang":  {"dir": "$WORK/opt/hang",  "digest": "$("$MOKSHA_EXEC" plugin digest opt/hang)", "timeout": "1s"},
   "inject": {"dir": "$WORK/opt/inject", "digest": "$("$MOKSHA_EXEC" plugin digest opt/inject)"},
   "sec":   {"dir": "$WORK/opt/sec",   "digest": "$("$MOKSHA_EXEC" plugin digest opt/sec)"}}}
J
export MOKSHA_EXEC_CONFIG="$WORK/etc/exec.json"
enter stack || exit 1

for kind in crash hang; do
    cat >main.moksha <<M
provider local { root = ".moksha/out" }
provider plugin p { plugin = "$kind", source = "$WORK/opt/$kind" }
resource local.file note { path = "note.txt", content = "made first" }
resource $kind.thing x {
  size       = 2
  depends_on = [local.file.note]
}
M
    t0=$(date +%s)
    expect_exit 4 moksha apply --yes --retries 0 && expect_contains "$OUT" "Rolled back"
    [ $(($(date +%s) - t0)) -le 20 ] || fail "$kind: the apply took more than 20 s"
    if [ "$kind" = crash ]; then
        expect_contains "$ERR" "plugin crash: crash.thing.x: crashed (killed by signal 9) before answering"
    else
        expect_contains "$ERR" "plugin hang: hang.thing.x: no answer within 1000 ms: it hangs"
    fi
    [ -e .moksha/out/note.txt ] && fail "$kind: the rollback left note.txt"
    expect_exit 0 moksha state list && expect_empty "$OUT"
    if pgrep -f "$WORK/opt/$kind/plugin" >/dev/null; then fail "$kind: the plugin's process outlived the apply"; fi
done

# ---- a create's answer cannot rewrite what the stack set ----
cat >main.moksha <<M
provider plugin { plugin = "inject", source = "$WORK/opt/inject" }
resource inject.thing a { size = 2 }
M
expect_exit 0 moksha apply --yes
expect_exit 0 "$MOKSHA_EXEC" state show inject.thing.a && expect_contains "$OUT" '"size": 2'
expect_not_contains "$OUT" "999"
expect_exit 0 moksha state rm inject.thing.a   # (its objects live in its HOME, gone with the run)

# ---- the executor killed (-9) while its plugin hangs: the plugin dies with it ----
timeout -s KILL 2 "$MOKSHA_EXEC" plugin test "$WORK/opt/hang" --timeout 30s >/dev/null 2>&1
sleep 0.5
if pgrep -f "$WORK/opt/hang/plugin" >/dev/null; then
    kill -9 $(pgrep -f "$WORK/opt/hang/plugin")
    fail "a hung plugin outlived its executor, killed -9"
fi

# ---- a secret of the plan is never handed to a plugin: refused before the first step ----
PW=plan-secret-3e9d1c77
export MOKSHA_VAR_pw=$PW
# (the last: a template known only at apply time, once sec.note.a has its id)
for attr in 'text = "x"; key = var.pw' 'text = "x"; keys = { a = var.pw }' 'text = "${var.pw}@${sec.note.a.id}"'; do
    cat >main.moksha <<M
var pw: secret
provider plugin { plugin = "sec", source = "$WORK/opt/sec" }
resource sec.note a { text = "first" }
resource sec.note n { $attr }
M
    expect_exit 1 moksha apply --yes && expect_contains "$ERR" "holds a secret, and protocol 1 hands a plugin no secret"
    expect_contains "$ERR" "nothing was applied"
    for f in "$OUT" "$ERR"; do grep -q "$PW" "$f" && fail "the plan's secret is in the output"; done
done
leave
