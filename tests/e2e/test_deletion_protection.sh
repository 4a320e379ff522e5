# test_deletion_protection.sh — `deletion_protection = true` (database:
# stdlib/types/database.moksha is the only type with it) stops a delete: a
# planned delete, destroy or replace of an object applied with it on is
# refused at plan time (E0304) with the fix; turning it off is an ordinary
# update, after which the delete plans. Protection switched on behind
# moksha's back stops a destroy at its guard (the world moved), and a
# rollback still takes back a protected object the apply itself created.
. "$TOP/tests/e2e/lib.sh"

mkdir stack && cd stack
stack() { # stack PROTECTED ENGINE [FAIL_ON]
    cat > main.moksha <<M
provider sim { latency = 1ms, fail_on = [$3] }
resource database orders {
  engine              = "$2"
  version             = "16"
  cpu                 = 2
  memory              = 4GiB
  storage             = 10GiB
  deletion_protection = $1
}
resource network main { cidr = "10.0.0.0/16" }
M
}
stack true postgres
expect_exit 0 moksha apply --yes
cp .moksha/state.json applied.json

# a destroy, a delete (the resource removed) and a replace are refused, with the fix
expect_exit 1 moksha destroy --yes
expect_contains "$ERR" "error[E0304]: database.orders would be deleted, but it was applied with deletion_protection = true"
expect_contains "$ERR" "set deletion_protection = false and apply first"
sed -i '/^resource database/,/^}/d' main.moksha
expect_exit 1 moksha plan && expect_contains "$ERR" "database.orders would be deleted"
stack true mysql
expect_exit 1 moksha plan && expect_contains "$ERR" "database.orders would be replaced"
expect_contains "$ERR" "main.moksha:2:1"
# turning it off while replacing is not enough: the applied object has it on
stack false mysql
expect_exit 1 moksha plan && expect_contains "$ERR" "E0304"
expect_same .moksha/state.json applied.json
[ "$(ls .moksha/sim | wc -l)" -eq 2 ] || fail "the world changed: $(ls .moksha/sim)"

# off first, in an update of its own; then the replace and the destroy plan
stack false postgres
expect_exit 0 moksha apply --yes && expect_contains "$OUT" "1 updated"
stack false mysql
expect_exit 0 moksha apply --yes && expect_contains "$OUT" "1 replaced"

# switched on in the cloud, not in the spec: the world moved since the
# plan, so the destroy's guard refuses it before any delete (exit 6)
sed -i 's/"deletion_protection": false/"deletion_protection": true/' .moksha/sim/database.orders.json
expect_exit 6 moksha destroy --yes
expect_contains "$ERR" "database.orders: deletion_protection false → true"
expect_exit 0 "$MOKSHA_EXEC" state list && expect_contains "$OUT" "database.orders" && expect_contains "$OUT" "network.main"
expect_file .moksha/sim/network.main.json
sed -i 's/"deletion_protection": true/"deletion_protection": false/' .moksha/sim/database.orders.json
expect_exit 0 moksha destroy --yes
expect_exit 0 "$MOKSHA_EXEC" state list && expect_empty "$OUT"

# a protected database this apply created is taken back when a later step fails
stack true postgres '"network.main"'
expect_exit 4 moksha apply --yes
expect_contains "$OUT" "Rolled back"
if ls .moksha/sim | grep -q .; then fail "the rollback left $(ls .moksha/sim)"; fi

# an object the create found already there (forgotten by `state rm`, or made by a run that died before
# recording it) was not made by this apply: a rollback keeps it — never switches its protection off to
# delete it — and says so (exit 5); the state knows it again
stack true postgres
expect_exit 0 moksha apply --yes
expect_exit 0 moksha state rm database.orders
stack true postgres '"bucket.late"'
echo 'resource bucket late { tags = { db = database.orders.id } }' >> main.moksha
expect_exit 5 moksha apply --yes
expect_contains "$ERR" "database.orders (create): the create found an object already at database.orders and took it over"
expect_file .moksha/sim/database.orders.json
expect_contains .moksha/sim/database.orders.json '"deletion_protection": true'
expect_exit 0 "$MOKSHA_EXEC" state list && expect_contains "$OUT" "database.orders"
expect_exit 0 moksha audit verify
# the same for any object: a bucket forgotten by `state rm` keeps its data through a failed apply
cd "$WORK" && mkdir forgotten && cd forgotten
cat > main.moksha <<'M'
provider sim { latency = 1ms }
resource bucket data {}
M
expect_exit 0 moksha apply --yes
expect_exit 0 moksha state rm bucket.data
cat > main.moksha <<'M'
provider sim { latency = 1ms, fail_on = ["queue.late"] }
resource bucket data {}
resource queue late { tags = { after = bucket.data.id } }
M
expect_exit 5 moksha apply --yes && expect_contains "$ERR" "bucket.data (create): the create found an object already"
expect_file .moksha/sim/bucket.data.json
