# http_lib.sh — the REST service of the http provider's tests
# (tests/http/server.py) for an e2e test, after lib.sh:
#
#   http_start DIR [ARGS...]  start it in DIR (made), on 127.0.0.1 and a port
#                             the system picks; HTTP_PORT, HTTP_URL (its
#                             http://127.0.0.1:PORT) and HTTP_DIR are set. A
#                             server that does not start fails the test.
#   http_stop                 stop it (the test's EXIT trap calls it too)
#   hq METHOD PATH [JSON]     a request to it as a colleague with curl would
#                             send it (bearer $HTTP_TOKEN); the answer on stdout
#   hobj PATH                 the object the service holds at PATH (jq -S), or
#                             "null"

HTTP_PID=
http_start() {
    HTTP_DIR=$1
    shift
    mkdir -p "$HTTP_DIR" || exit 1
    python3 "$TOP/tests/http/server.py" --dir "$HTTP_DIR" "$@" >"$HTTP_DIR/server.out" 2>&1 &
    HTTP_PID=$!
    _w=0
    while [ ! -s "$HTTP_DIR/port" ] && [ $_w -lt 250 ]; do sleep 0.02; _w=$((_w + 1)); done
    if [ ! -s "$HTTP_DIR/port" ]; then
        e2e_bad "the test REST service did not start: $(cat "$HTTP_DIR/server.out")"
        exit 1
    fi
    HTTP_PORT=$(cat "$HTTP_DIR/port")
    HTTP_URL=http://127.0.0.1:$HTTP_PORT
}

http_stop() {
    if [ -n "$HTTP_PID" ]; then
        kill "$HTTP_PID" 2>/dev/null
        wait "$HTTP_PID" 2>/dev/null
        HTTP_PID=
    fi
}

hq() {
    if [ $# -ge 3 ]; then
        curl -s --noproxy '*' -X "$1" -H "Authorization: Bearer $HTTP_TOKEN" -H 'Content-Type: application/json' \
            --data-binary "$3" "$HTTP_URL$2"
    else
        curl -s --noproxy '*' -X "$1" -H "Authorization: Bearer $HTTP_TOKEN" "$HTTP_URL$2"
    fi
}

hobj() { jq -S --arg p "$1" '.[$p]' "$HTTP_DIR/objects.json"; }
