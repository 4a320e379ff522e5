# test_plugin_faults.sh — a plugin that crashes or hangs mid-apply fails
# only its own step: the apply rolls the others back (exit 4) and says what
# the plugin did; the next run starts the plugin anew. Both plugins are
# allowed (tests/plugins/crash, tests/plugins/hang); the hang's timeout is
# short, so the test takes seconds.
. "$TOP/tests/e2e/lib.sh"

mkdir -p opt etc stack
cp -r "$TOP/tests/plugins/crash" "$TOP/tests/plugins/hang" opt/
chmod -R go-w opt
cat >etc/exec.json <<J
{"format": "moksha.exec-config/v1",
 "plugins": {
   "crash": {"dir": "$WORK/opt/crash", "digest": "$("$MOKSHA_EXEC" plugin digest opt/crash)"},
   "hang":  {"dir": "$WORK/opt/hang",  "digest": "$("$MOKSHA_EXEC" plugin digest opt/hang)", "timeout": "1s"}}}
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
leave
