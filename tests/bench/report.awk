# report.awk — the tables of `make bench` from the figures tests/bench/run.sh
# collected, one "N KEY VALUE..." line each: every performance figure at
# each size with its goal (judged at 100,000 resources) and its growth
# 10k → 100k (target ≤ 11×), then the peers as ratios to moksha. Only
# formatting and judging; run.sh measures.
#
#   awk -v sizes="10000 100000" -v npol=50 -f tests/bench/report.awk FIGURES

function ms(t) { return t < 1000 ? sprintf("%d ms", t) : sprintf("%.2f s", t / 1000) }
function mib(k) { return k < 1048576 ? sprintf("%d MiB", k / 1024) : sprintf("%.2f GiB", k / 1048576) }
function group(x,   s) { s = ""; while (x >= 1000) { s = sprintf(",%03d", x % 1000) s; x = int(x / 1000) } return x s }
function has(n, k) { return (n SUBSEP k) in F }
function verdict(ok) { return ok ? "met" : "**missed**" }

# row LABEL KEY KIND GOAL: a figure at every size, its goal at 100k, its growth
function row(label, key, kind, goal,   i, n, cells, v, g, ok) {
    cells = ""
    for (i = 1; i <= ns; i++) {
        n = S[i]
        cells = cells " | " (has(n, key) ? show(n, key, kind) : "–")
    }
    v = has(100000, key) ? judge(key) : "not measured"
    if (v == "") v = "–"
    g = "–"
    if (has(10000, key) && has(100000, key) && kind != "text" && kind != "share" && F[10000, key] > 0) {
        g = sprintf("%.1f×", F[100000, key] / F[10000, key])
        ok = F[100000, key] / F[10000, key] <= 11
        g = g " | " verdict(ok)
    } else
        g = g " | –"
    printf "| %s%s | %s | %s | %s |\n", label, cells, goal, v, g
}
function show(n, key, kind,   t) {
    if (kind == "ms") return ms(F[n, key])
    if (kind == "kib") return mib(F[n, key])
    if (kind == "share") return sprintf("%.2f s, %d%% of its CPU time", F[n, "plan_sys"], 100 * share(n))
    if (kind == "file") return sprintf("%.1f MB, %d B/resource", F[n, key] / 1e6, F[n, key] / n)
    if (kind == "check") {
        t = F[n, key] > 0 ? F[n, key] : 1
        return sprintf("%s, %.1f MB/s", ms(F[n, key]), F[n, "bytes"] / 1e6 / (t / 1000))
    }
    return F[n, key]
}
function share(n,   cpu) { cpu = F[n, "plan_user"] + F[n, "plan_sys"]; return cpu > 0 ? F[n, "plan_sys"] / cpu : 0 }
function judge(key,   x, t) {
    x = F[100000, key]
    if (key == "plan_ms" || key == "replan_ms") return verdict(x <= 1000)
    if (key == "plan_kib") return verdict(x <= 1048576) (x <= 512000 ? " (and the aim)" : "")
    if (key == "plan_sys") return verdict(share(100000) <= 0.10)
    if (key == "planfile") return verdict(x <= 40e6)
    if (key == "verify_ms") return verdict(x <= 300)
    if (key == "pcheck_ms") return verdict(x <= 500)
    if (key == "check_ms") { t = x > 0 ? x : 1; return verdict(x <= 250 && F[100000, "bytes"] / 1e6 / (t / 1000) >= 50) }
    return ""
}

# peer LABEL NAME MOKSHA-KEY: the peer's time and its ratio to moksha's
function peer(label, name, mkey,   i, n, p, m, r) {
    for (i = 1; i <= ns; i++) {
        n = S[i]
        m = has(n, mkey) ? ms(F[n, mkey]) : "–"
        if (has(n, name "_ms")) {
            p = ms(F[n, name "_ms"])
            r = has(n, mkey) ? sprintf("%.1f×", F[n, name "_ms"] / (F[n, mkey] > 0 ? F[n, mkey] : 1)) : "–"
        } else {
            p = has(n, name "_note") ? F[n, name "_note"] : "not run"
            r = (p ~ /timed out/ && has(n, mkey)) ? sprintf("> %.0f×", substr(p, 3) * 1000 / (F[n, mkey] > 0 ? F[n, mkey] : 1)) : "–"
        }
        printf "| %s | %s | %s | %s | %s |\n", label, group(n), p, m, r
    }
}

{
    v = $3
    for (i = 4; i <= NF; i++) v = v " " $i
    F[$1, $2] = v
}
END {
    ns = split(sizes, S, " ")
    head = "| figure (" npol " policies)"
    rule = "|---"
    for (i = 1; i <= ns; i++) { head = head " | " group(S[i]); rule = rule "|---:" }
    print "Figures on gen.sh's stacks, with the " npol " policies of tests/bench/policies/ (goals at 100,000 resources; growth 100k ÷ 10k, target ≤ 11×):"
    print ""
    print head " | goal at 100k | | 100k ÷ 10k | |"
    print rule "|---|---|---:|---|"
    row("`moksha plan -o p.plan`, empty state, wall", "plan_ms", "ms", "≤ 1.0 s")
    row("plan phases, ms: compile/diff/cost/policies/sign/render", "plan_phases", "text", "")
    row("plan, peak memory", "plan_kib", "kib", "≤ 1 GiB, aim 500 MiB")
    row("plan, system time (page zeroing)", "plan_sys", "share", "≤ 10% of CPU time")
    row("plan file", "planfile", "file", "≤ 40 MB")
    row("`moksha-exec verify p.plan` (load and verify, no apply)", "verify_ms", "ms", "≤ 0.3 s")
    row("re-plan against the applied state, 1% changed", "replan_ms", "ms", "≤ 1.0 s")
    row("re-plan, peak memory", "replan_kib", "kib", "")
    row("`moksha policy check`, applied state", "pcheck_ms", "ms", "≤ 0.5 s")
    row("`moksha check`", "check_ms", "check", "≤ 0.25 s, ≥ 50 MB/s")
    row("check, peak memory", "check_kib", "kib", "")
    print ""
    print "Peers on the same stacks (best of 3, or one run over 2 s):"
    print ""
    print "| peer ÷ moksha | resources | peer | moksha | ratio |"
    print "|---|---:|---:|---:|---:|"
    peer("`jsonnet` evaluating the stack ÷ `moksha check`", "jsonnet", "check_ms")
    peer("HCL parser (`@cdktf/hcl2json`) on the stack as HCL, parse only ÷ `moksha check`", "hcl", "check_ms")
    peer("`jq`, the " npol " rules over the resources as JSON ÷ `moksha policy check`", "jq", "pcheck_ms")
    peer("`jq` ÷ the policies phase of `moksha policy check`", "jq", "pcheck_policies_ms")
    line = ""
    for (i = 1; i <= ns; i++) {
        n = S[i]
        if (!has(n, "violations")) continue
        split(F[n, "violations"], V, " ")
        line = line sprintf("%s%s: moksha %d, jq %d%s", line == "" ? "" : "; ", group(n), V[1], V[2],
            has(n, "violations_differ") ? " — **mismatch** on " F[n, "violations_differ"] : (V[1] == V[2] ? " (same)" : " — **mismatch**"))
    }
    if (line != "") { print ""; print "Violations of the " npol " rules: " line "." }
}
