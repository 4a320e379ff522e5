# test_approve_cli.sh — `moksha approve` (docs/trust.md, "Giving an
# approval"): the files it writes have the shape docs/trust.md gives and a
# signature of type approval the openssl command line verifies; a gate's
# approval is bound to its change's digest, the same in the next plan of the
# same change and another for another change; every kind (gate, override,
# waiver, break_glass, revoke, ack) is written; a plan not signed, signed
# with the project key (HMAC), a GATE the plan lacks, an unreadable or
# world-readable key, a bad --expires and an existing -o are refused, and
# nothing is written then; apply --approval checks the file first; with
# MOKSHA_EXEC_SOCKET, approve, approval add|list and apply --approval send
# the requests docs/trust.md gives (to a stand-in service that records them).
. "$TOP/tests/e2e/lib.sh"

umask 022
mkdir ids && chmod 700 ids
K=$WORK/ids
expect_exit 0 moksha key new planner --dir "$K"
expect_exit 0 moksha key new bob --dir "$K"
openssl pkey -in "$K/bob.key" -pubout -out "$K/bob.pem" 2>/dev/null || fail "openssl pkey"
BOB_ID=$(openssl pkey -in "$K/bob.key" -pubout -outform DER | tail -c 32 | sha256sum | cut -c1-16)

mkdir st && enter st
cat >main.moksha <<'EOF'
stack s {}
provider sim { latency = 1ms }
resource network main { cidr = "10.0.0.0/16" }
resource bucket logs { encrypted = true }
resource firewall edge { network = network.main }
policy "prod-approval" {
  enforcement = hard
  for c in changes where c.type == "firewall" {
    require approval("sre") : "${c.address} changes who can reach the network"
  }
}
policy "named" {
  enforcement = soft
  for c in changes where c.type == "bucket" {
    assert c.address == "bucket.none" : "${c.address} is not named right"
  }
}
EOF
expect_exit 0 moksha plan --override named --reason "known" -o h.plan
expect_exit 0 moksha plan --override named --reason "known" --signing-key "$K/planner.key" -o p.plan
expect_exit 0 moksha plan --override named --reason "known" --signing-key "$K/planner.key" -o p2.plan
SID=$(cat .moksha/stack-id)

# field VALUE-PATH FILE: a field of the envelope's payload (python3 reads JSON)
payload() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["payload"], end="")' "$1"; }
field() { python3 -c 'import json,sys; d=json.loads(json.load(open(sys.argv[2]))["payload"]); print(eval("d"+sys.argv[1]))' "$1" "$2"; }
# verify FILE: the openssl CLI verifies the signature over "moksha-signature/v1" 0 "approval" 0 PAYLOAD
verify() {
    { printf 'moksha-signature/v1\000approval\000'; payload "$1"; } >"$K/msg"
    python3 -c 'import json,sys,base64; sys.stdout.buffer.write(base64.b64decode(json.load(open(sys.argv[1]))["signature"]["value"]))' "$1" >"$K/sig"
    openssl pkeyutl -verify -rawin -pubin -inkey "$K/bob.pem" -in "$K/msg" -sigfile "$K/sig" >/dev/null 2>&1
}

# ---- a gate's approval: the shape, the signature, the digest ----
expect_exit 0 moksha approve p.plan --key "$K/bob.key" --reason "reviewed in #42" -o g.approval &&
    expect_contains "$OUT" "approved: gate " && expect_contains "$OUT" "gate prod-approval on firewall.edge (group sre)"
expect_contains "$OUT" "key:      $BOB_ID" && expect_contains "$OUT" "file:     g.approval"
expect_match "$OUT" "^    [0-9a-f]{64}  firewall.edge$"
expect_file g.approval
verify g.approval || fail "openssl does not verify g.approval's signature"
python3 - g.approval "$SID" "$BOB_ID" <<'EOF' || fail "g.approval has not the shape docs/trust.md gives"
import json, sys, re
env = json.load(open(sys.argv[1]))
assert list(env) == ["format", "payload", "signature"], list(env)
assert env["format"] == "moksha.approval/v1"
s = env["signature"]
assert sorted(s) == ["algorithm", "key", "key_id", "type", "value"], s
assert s["algorithm"] == "Ed25519" and s["type"] == "approval" and s["key_id"] == sys.argv[3], s
p = json.loads(env["payload"])
assert sorted(p) == ["env", "expires", "gates", "id", "issued", "kind", "reason", "stack_id"], sorted(p)
assert p["kind"] == "gate" and re.fullmatch("[0-9a-f]{32}", p["id"]) and p["stack_id"] == sys.argv[2], p
assert p["env"] is None and p["reason"] == "reviewed in #42"
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", p["issued"]) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", p["expires"])
from datetime import datetime
t = lambda x: datetime.strptime(x, "%Y-%m-%dT%H:%M:%SZ")
assert (t(p["expires"]) - t(p["issued"])).total_seconds() == 86400
g = p["gates"]
assert len(g) == 1 and g[0]["policy"] == "prod-approval" and g[0]["address"] == "firewall.edge" and g[0]["group"] == "sre"
assert [c["address"] for c in g[0]["changes"]] == ["firewall.edge"] and re.fullmatch("[0-9a-f]{64}", g[0]["changes"][0]["digest"])
EOF
# the digest is the change's (docs/trust.md, "The change digest"), computed here anew
python3 - p.plan "$(field '["gates"][0]["changes"][0]["digest"]' g.approval)" <<'EOF' || fail "the digest is not the change's"
import json, sys, hashlib
plan = json.load(open(sys.argv[1]))
c = [c for c in plan["changes"] if c["address"] == "firewall.edge"][0]
def strip(v):
    if isinstance(v, dict):
        if "$secret" in v:
            fp = v["$secret"].get("fingerprint") if isinstance(v["$secret"], dict) else None
            return {"$secret": fp if isinstance(fp, str) else None}
        return {k: strip(x) for k, x in v.items()}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v
o = {k: strip(c.get(k)) for k in ("address", "action", "type", "before", "after")}
for u in c.get("after_unknown", []):  # known only after apply: left out of after, however the file writes it
    if isinstance(o["after"], dict):
        o["after"].pop(u, None)
text = json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
d = hashlib.sha256(b"moksha-change/v1\n" + text.encode()).hexdigest()
assert d == sys.argv[2], (d, sys.argv[2])
EOF
# moksha show lists each gate with its group, count and the digests approvals bind to
expect_exit 0 moksha show p.plan && expect_contains "$OUT" "  prod-approval:firewall.edge  group sre, count 1" &&
    expect_contains "$OUT" "    $(field '["gates"][0]["changes"][0]["digest"]' g.approval)  firewall.edge"
# the next plan of the same change: the same digest; a file is never replaced
expect_exit 0 moksha approve p2.plan prod-approval:firewall.edge --key "$K/bob.key" --reason "again" --format json -o g2.approval &&
    expect_contains "$OUT" '"file": "g2.approval"' && expect_contains "$OUT" '"kind": "gate"'
[ "$(field '["gates"][0]["changes"][0]["digest"]' g.approval)" = "$(field '["gates"][0]["changes"][0]["digest"]' g2.approval)" ] ||
    fail "two plans of the same change have two digests"
cp g.approval g.saved
expect_exit 1 moksha approve p.plan --key "$K/bob.key" --reason "again" -o g.approval &&
    expect_contains "$ERR" "g.approval exists: an approval never replaces a file"
expect_same g.approval g.saved
# another change of the firewall: another digest
cp main.moksha main.saved
sed -i 's/resource firewall edge { network = network.main }/resource firewall edge { network = network.main; tags = { team = "net" } }/' main.moksha
expect_exit 0 moksha plan --override named --reason known --signing-key "$K/planner.key" -o p3.plan
expect_exit 0 moksha approve p3.plan prod-approval --key "$K/bob.key" --reason "other" -o g3.approval
[ "$(field '["gates"][0]["changes"][0]["digest"]' g.approval)" != "$(field '["gates"][0]["changes"][0]["digest"]' g3.approval)" ] ||
    fail "another change has the same digest"
mv main.saved main.moksha
# the default name: KIND-ID8.approval here
expect_exit 0 moksha approve p.plan prod-approval --key "$K/bob.key" --reason "default name"
ID=$(sed -n 's/^approved: gate \([0-9a-f]*\)$/\1/p' "$OUT")
expect_file "gate-$(printf %.8s "$ID").approval"

# ---- the other kinds ----
expect_exit 0 moksha approve p.plan --override named --key "$K/bob.key" --reason "accepted" -o o.approval &&
    expect_contains "$OUT" "override of named, violations "
verify o.approval || fail "o.approval's signature"
[ "$(field '["kind"]' o.approval)" = override ] && [ "$(field '["policy"]' o.approval)" = named ] || fail "o.approval's fields"
python3 - p.plan "$(field '["violations"]' o.approval)" <<'EOF' || fail "the violations digest is not the policy's"
import json, sys, hashlib
r = [r for r in json.load(open(sys.argv[1]))["policies"] if r["name"] == "named"][0]
v = sorted(({"address": x.get("address"), "message": x["message"]} for x in r["violations"]),
           key=lambda x: (x["address"] is not None, x["address"] or "", x["message"]))
d = hashlib.sha256(b"moksha-violations/v1\n" + json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
assert d == sys.argv[2], (d, sys.argv[2])
EOF
expect_exit 1 moksha approve p.plan --override prod-aproval --key "$K/bob.key" --reason x &&
    expect_contains "$ERR" "p.plan has no policy \`prod-aproval\`: did you mean \`prod-approval\`?"
expect_exit 1 moksha approve p.plan --override prod-approval --key "$K/bob.key" --reason x &&
    expect_contains "$ERR" "policy prod-approval has no violations in p.plan"

expect_exit 0 moksha approve --waiver named:bucket.logs --key "$K/bob.key" --reason "legacy name" --expires 7d -o w.approval &&
    expect_contains "$OUT" "waiver of named at bucket.logs"
verify w.approval || fail "w.approval's signature"
[ "$(field '["stack_id"]' w.approval)" = "$SID" ] && [ "$(field '["address"]' w.approval)" = bucket.logs ] || fail "w.approval's fields"
leave
expect_exit 0 moksha approve --waiver named:bucket.logs --stack-dir st --key "$K/bob.key" --reason "from above" -o w2.approval
[ "$(field '["stack_id"]' w2.approval)" = "$SID" ] || fail "--stack-dir: the stack's id"
expect_exit 1 moksha approve --waiver named:bucket.logs --stack-dir nowhere --key "$K/bob.key" --reason x &&
    expect_contains "$ERR" "nowhere/.moksha/stack-id"
enter st
expect_exit 1 moksha approve --waiver named --key "$K/bob.key" --reason x && expect_contains "$ERR" "--waiver takes POLICY:ADDRESS"

expect_exit 0 moksha approve p.plan --break-glass --key "$K/bob.key" --reason "outage" -o b.approval &&
    expect_contains "$OUT" "break glass of the plan "
[ "$(field '["plan"]' b.approval)" = "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["signature"]["digest"])' p.plan)" ] ||
    fail "a break glass names the plan body's digest"
expect_exit 1 moksha approve p.plan --break-glass --expires 5h --key "$K/bob.key" --reason x &&
    expect_contains "$ERR" "--expires 5h: a break glass lives 4h at most"

expect_exit 0 moksha approve --revoke g.approval --key "$K/bob.key" --reason "wrong one" -o r.approval &&
    expect_contains "$OUT" "revokes $(field '["id"]' g.approval)"
verify r.approval || fail "r.approval's signature"
expect_exit 1 moksha approve --revoke r.approval --key "$K/bob.key" --reason x && expect_contains "$ERR" "nothing to revoke"
H=$(printf x | sha256sum | cut -c1-64)
expect_exit 0 moksha approve --ack "$H" --key "$K/bob.key" --reason "seen" -o a.approval &&
    expect_contains "$OUT" "acknowledges the break glass $H"
expect_exit 1 moksha approve --ack 1234 --key "$K/bob.key" --reason x && expect_contains "$ERR" "--ack takes the plan_sha256"

# ---- refusals: nothing written ----
ls >"$K/before"
sed 's/,"signature":{[^}]*}}$/}/' p.plan >u.plan
ls >"$K/before"
expect_exit 1 moksha approve u.plan --key "$K/bob.key" --reason x && expect_contains "$ERR" "u.plan is not signed"
expect_exit 1 moksha approve h.plan --key "$K/bob.key" --reason x &&
    expect_contains "$ERR" "h.plan is signed with a project key (HMAC-SHA256), not a planner's Ed25519 key"
sed 's/"reason":"known"/"reason":"KNOWN"/' p.plan >t.plan
ls >"$K/before"
expect_exit 1 moksha approve t.plan --key "$K/bob.key" --reason x
expect_exit 1 moksha approve p.plan prod-approval:firewall.edg --key "$K/bob.key" --reason x &&
    expect_contains "$ERR" "p.plan has no gate \`prod-approval:firewall.edg\`: did you mean \`prod-approval:firewall.edge\`?"
expect_exit 1 moksha approve p.plan nothing --key "$K/bob.key" --reason x && expect_contains "$ERR" "p.plan has no gate \`nothing\`"
expect_exit 1 moksha approve p.plan --key "$K/none.key" --reason x && expect_contains "$ERR" "--key"
cp "$K/bob.key" "$K/open.key" && chmod 644 "$K/open.key"
expect_exit 1 moksha approve p.plan --key "$K/open.key" --reason x && expect_contains "$ERR" "chmod 600"
cp "$K/bob.key" "$K/locked.key" && chmod 000 "$K/locked.key"
if [ "$(id -u)" != 0 ]; then
    expect_exit 1 moksha approve p.plan --key "$K/locked.key" --reason x && expect_contains "$ERR" "--key"
fi
expect_exit 1 moksha approve p.plan --key "$K/bob.key" && expect_contains "$ERR" "approve needs --reason"
expect_exit 1 moksha approve p.plan --reason x && expect_contains "$ERR" "approve needs --key"
expect_exit 1 moksha approve p.plan --key "$K/bob.key" --reason "$(printf 'two\nlines')" && expect_contains "$ERR" "\`reason\`"
for bad in 0s 10 1w -5m 8d 2.5h; do
    expect_exit 1 moksha approve p.plan --key "$K/bob.key" --reason x --expires "$bad" && expect_contains "$ERR" "--expires"
done
expect_exit 1 moksha approve --key "$K/bob.key" --reason x && expect_contains "$ERR" "approve needs the plan file"
expect_exit 1 moksha approve p.plan --override named --break-glass --key "$K/bob.key" --reason x &&
    expect_contains "$ERR" "each make their own approval"
ls >"$K/after"
expect_same "$K/before" "$K/after"
mkdir env && : >env/prod.yaml
expect_exit 1 moksha approve --env prod p.plan --key "$K/bob.key" --reason x &&
    expect_contains "$ERR" "p.plan is a plan of no environment, not of --env prod"
rm -r env

# ---- a short life; apply --approval checks the file first ----
expect_exit 0 moksha approve p.plan --key "$K/bob.key" --reason "brief" --expires 2s -o s.approval
[ "$(python3 -c 'import json,sys; from datetime import datetime as D; p=json.loads(json.load(open(sys.argv[1]))["payload"]); f="%Y-%m-%dT%H:%M:%SZ"; print(int((D.strptime(p["expires"],f)-D.strptime(p["issued"],f)).total_seconds()))' s.approval)" = 2 ] ||
    fail "--expires 2s"
sed 's/"reason\\":\\"brief/"reason\\":\\"Brief/' s.approval >forged.approval
expect_exit 1 moksha apply p.plan --approval forged.approval && expect_contains "$ERR" "--approval forged.approval: the signature does not verify"
expect_exit 1 moksha apply p.plan --approval none.approval && expect_contains "$ERR" "--approval none.approval: cannot read it"
expect_exit 1 moksha approval add forged.approval && expect_contains "$ERR" "forged.approval: the signature does not verify"
expect_exit 1 moksha approval && expect_contains "$ERR" "approval needs a subcommand"
# a gate of count 2: show says so; its approval is of the same gate
sed -i 's/require approval("sre")/require approval("sre", count = 2)/' main.moksha
expect_exit 0 moksha plan --override named --reason known --signing-key "$K/planner.key" -o c.plan
expect_exit 0 moksha show c.plan && expect_contains "$OUT" "  prod-approval:firewall.edge  group sre, count 2"
expect_exit 0 moksha approve c.plan --key "$K/bob.key" --reason "one of two" -o c.approval
[ "$(field '["gates"][0]["changes"][0]["digest"]' c.approval)" = "$(field '["gates"][0]["changes"][0]["digest"]' g.approval)" ] ||
    fail "a gate's count changes its change's digest"
sed -i 's/require approval("sre", count = 2)/require approval("sre")/' main.moksha

# ---- the service: a stand-in that records each request and answers exit 0 ----
mkdir -m 700 "$WORK/sock"
cat >"$WORK/fake_service.py" <<'EOF'
import json, socket, struct, sys
path, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path); s.listen(4)
open(path + ".ready", "w").close()
def take(c, n):
    b = b""
    while len(b) < n:
        x = c.recv(n - len(b))
        if not x: raise EOFError
        b += x
    return b
def frame(c):
    h = take(c, 5)
    return chr(h[0]), take(c, struct.unpack(">I", h[1:])[0])
while True:
    c, _ = s.accept()
    t, body = frame(c)
    req = json.loads(body)
    if req.get("op") == "apply":
        while frame(c)[1]:
            pass
    with open(log, "a") as f:
        f.write(json.dumps(req) + "\n")
    c.sendall(b"O" + struct.pack(">I", 3) + b"ok\n" + b"X" + struct.pack(">I", 1) + b"\0")
    c.close()
EOF
python3 "$WORK/fake_service.py" "$WORK/sock/s" "$WORK/requests" &
FAKE=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -e "$WORK/sock/s.ready" ] && break; sleep 0.2; done
expect_exit 0 env MOKSHA_EXEC_SOCKET="$WORK/sock/s" "$MOKSHA" approve p.plan --key "$K/bob.key" --reason "to the service" -o q.approval &&
    expect_contains "$OUT" "file:     q.approval"
expect_exit 0 env MOKSHA_EXEC_SOCKET="$WORK/sock/s" "$MOKSHA" approval add g.approval
expect_exit 0 env MOKSHA_EXEC_SOCKET="$WORK/sock/s" "$MOKSHA" approval list --format json
expect_exit 0 env MOKSHA_EXEC_SOCKET="$WORK/sock/s" "$MOKSHA" apply p.plan --approval g.approval --approval q.approval
kill "$FAKE" 2>/dev/null
python3 - "$WORK/requests" q.approval g.approval "$SID" <<'EOF' || fail "the service's requests are not as docs/trust.md says"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
q, g = (json.load(open(f)) for f in sys.argv[2:4])
assert [r["op"] for r in reqs] == ["approval add", "approval add", "approval list", "apply"], [r["op"] for r in reqs]
assert all(r["stack_id"] == sys.argv[4] for r in reqs)
assert json.loads(reqs[0]["approval"]) == q and json.loads(reqs[1]["approval"]) == g
assert reqs[2].get("format") == "json"
a = reqs[3]["options"]["approvals"]
assert [json.loads(x) for x in a] == [g, q], a
EOF
# ---- trust mode, this build's executor: the gate opens with the file ----
mkdir -m 700 "$WORK/tkeys"
openssl genpkey -algorithm ed25519 -out "$K/root.key" 2>/dev/null || fail "openssl genpkey root"
pubk() { printf 'ed25519:%s' "$(openssl pkey -in "$K/$1.key" -pubout -outform DER | tail -c 32 | base64)"; }
printf '{"version":1,"expires":"2099-01-01T00:00:00Z","roots":{"threshold":1,"keys":["%s"]},"planners":{"pat":"%s"},"approvers":{"bob":"%s"},"groups":{"sre":["bob"]}}' \
    "$(pubk root)" "$(pubk planner)" "$(pubk bob)" >"$K/tpayload"
{ printf 'moksha-signature/v1\000trust\000'; cat "$K/tpayload"; } >"$K/tmsg"
printf '{"format":"moksha.trust/v1","payload":"%s","signatures":[{"key":"%s","value":"%s"}]}\n' "$(sed 's/"/\\"/g' "$K/tpayload")" \
    "$(pubk root)" "$(openssl pkeyutl -sign -rawin -inkey "$K/root.key" -in "$K/tmsg" | base64 -w0)" >"$WORK/trust.json"
mkdir -p "$WORK/xdg/moksha"
printf '{"format": "moksha.exec-config/v1", "trust": {"file": "%s", "keys": "%s", "roots": {"threshold": 1, "keys": ["%s"]}}}\n' \
    "$WORK/trust.json" "$WORK/tkeys" "$(pubk root)" >"$WORK/xdg/moksha/exec.json"
chmod 600 "$WORK/xdg/moksha/exec.json"
expect_exit 0 env XDG_CONFIG_HOME="$WORK/xdg" "$MOKSHA_EXEC" key new --dir "$WORK/tkeys"
mkdir "$WORK/tr" && enter "$WORK/tr"
sed -e '/resource bucket/d' -e '/^policy "named"/,$d' -e 's/^stack s/stack t/' "$WORK/st/main.moksha" >main.moksha
expect_exit 0 moksha plan --signing-key "$K/planner.key" -o t.plan
expect_exit 0 moksha approve t.plan prod-approval:firewall.edge --key "$K/bob.key" --reason "reviewed" -o t.approval
expect_exit 3 env XDG_CONFIG_HOME="$WORK/xdg" "$MOKSHA" apply t.plan --yes
# the held apply made the network; the next plan of the same firewall change takes the same approval
expect_exit 0 moksha plan --signing-key "$K/planner.key" -o t2.plan
expect_exit 0 env XDG_CONFIG_HOME="$WORK/xdg" "$MOKSHA" apply t2.plan --yes --approval t.approval
expect_exit 0 env XDG_CONFIG_HOME="$WORK/xdg" "$MOKSHA" state list && expect_contains "$OUT" "firewall.edge"
leave

expect_exit 0 moksha approve --help && expect_contains "$OUT" "usage: moksha approve PLAN [GATE...]"
expect_exit 0 moksha approval --help && expect_contains "$OUT" "usage: moksha approval add FILE..."
expect_exit 0 moksha apply --help && expect_contains "$OUT" "--approval FILE"
leave
