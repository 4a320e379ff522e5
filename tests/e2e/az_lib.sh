# az_lib.sh — an Azure Blob emulator of its own for an e2e test: azurite
# 3.35.0 on a free loopback port (tests/azure/azurite.sh), stopped at the
# end whatever happens. Source it after lib.sh:
#   . "$TOP/tests/e2e/lib.sh"
#   . "$TOP/tests/e2e/az_lib.sh"
# The account key is random and lives in the executor's environment only
# (TEST_AZ_KEY, which the connection names); the emulator checks every
# request's Shared Key signature with it. Defines
#   az ARGS...       tests/azure/az.py: change the account out of band (its
#                    own signer, not moksha's)
#   az_run CODE ARG...
#                    moksha ARG... must exit CODE (expect_exit); its stdout
#                    and stderr are appended to $AZ_OUTPUTS, for the leak check
#   az_same WHAT GOT WANT
#   az_config FILE [VOUCHES] [FAULTS] [EXTRA]
#                    the executor's configuration: connection `blobs` to the
#                    emulator, its `vouches` VOUCHES (default {"encrypted":
#                    true}), allow_fault_injection FAULTS (default true),
#                    EXTRA members added to the connection
#   az_world         every container of the account with its metadata (the
#                    run that made it left out), access level and blobs
az_settings=$(BUILD=$(dirname "$MOKSHA") sh "$TOP/tests/azure/azurite.sh" start) ||
    { fail "cannot start azurite (tests/azure/azurite.sh)"; exit 1; }
eval "$az_settings"
TEST_AZ_KEY=$AZ_KEY
export TEST_AZ_KEY AZ_ENDPOINT AZ_ACCOUNT AZ_KEY

az_finish() { [ -n "${AZ_DIR:-}" ] && sh "$TOP/tests/azure/azurite.sh" stop "$AZ_DIR"; }
trap 'az_finish; e2e_finish' EXIT

az() { python3 "$TOP/tests/azure/az.py" "$@"; }

AZ_OUTPUTS=$E2E_SCRATCH/az_outputs
: >"$AZ_OUTPUTS"
az_run() {
    _want=$1
    shift
    expect_exit "$_want" moksha "$@"
    cat "$OUT" "$ERR" >>"$AZ_OUTPUTS"
}

az_same() {
    [ "$2" = "$3" ] && { e2e_ok; return 0; }
    e2e_bad "$1 is \`$2\`, expected \`$3\`"
}

az_config() {
    _v=${2:-}
    [ -n "$_v" ] || _v='{ "encrypted": true }'
    mkdir -p "$(dirname "$1")" && chmod 700 "$(dirname "$1")"
    cat >"$1" <<JSON
{ "format": "moksha.exec-config/v1",
  "connections": { "blobs": { "kind": "azure_blob", "endpoint": "$AZ_ENDPOINT", "account": "$AZ_ACCOUNT",
    "credentials": { "account_key_env": "TEST_AZ_KEY" }, "vouches": $_v,
    "allow_fault_injection": ${3:-true}${4:+, $4} } } }
JSON
    chmod 0600 "$1"
}

az_world() { az dump | jq -c 'map_values(.metadata |= del(.moksha_run))'; }
