# test_fidelity.sh — the fidelity runner (tests/fidelity/run.sh) on a corpus
# of its own: a golden's figures read from its table (components summed,
# "depends on usage" lines as $0, thousands separators), compared with
# moksha cost per mapped resource; calibration and independent goldens
# counted apart; and the run failing on each thing docs/cost.md, "Fidelity"
# says it fails on: a figure off and not known, one within 5% still listed
# as known, a resource neither mapped nor skipped, a golden no case covers.
. "$TOP/tests/e2e/lib.sh"

# the runner reads its cases beside itself and the catalogs' sources at the
# top: a tree of its own, with the real catalogs
mkdir -p tree/tests/fidelity/infracost/vol tree/stdlib corpus/infracost/t/vol_test corpus/infracost/t/other_test
cp "$TOP/tests/fidelity/run.sh" tree/tests/fidelity/
cp "$TOP/tests/clean_copy.sh" tree/tests/
cp -r "$TOP/stdlib/pricing" tree/stdlib/
# a catalog built from vol_test's golden makes it calibration
printf '{"sources": [{"file": "corpus/infracost/t/{vol,nothing}_test/*.golden"}]}\n' >tree/stdlib/pricing/zz.json

cat > corpus/infracost/t/vol_test/vol_test.golden <<'GOLDEN'

 Name                                   Monthly Qty  Unit    Monthly Cost   
                                                                            
 aws_ebs_volume.sc1                                                         
 └─ Storage (cold HDD, sc1)                      50  GB             $0.75   
                                                                            
 aws_ebs_volume.big                                                         
 ├─ Storage (cold HDD, sc1)                 100,000  GB         $1,500.00   
 └─ I/O requests        Monthly cost depends on usage: $0.05 per 1M request 
                                                                            
 aws_lambda_function.fn                                                     
 └─ Requests                                      1  1M requests    $0.20 * 
                                                                            
 OVERALL TOTAL                                                   $1,500.95 
GOLDEN
cat > corpus/infracost/t/other_test/other_test.golden <<'GOLDEN'

 Name                                   Monthly Qty  Unit    Monthly Cost   
                                                                            
 aws_ebs_volume.x                                                           
 └─ Storage (cold HDD, sc1)                      50  GB             $0.75   
                                                                            
 OVERALL TOTAL                                                       $0.75 
GOLDEN

C=tree/tests/fidelity/infracost
cat > $C/vol/main.moksha <<'MOKSHA'
stack vol {
  env = "test"
  placement {
    providers = [aws]
    regions   = ["us-east-1"]
  }
}

resource volume sc1 {
  size  = 50GiB
  class = "cold"
}

# two halves of one golden resource
resource volume big {
  count = 2
  size  = 50000GiB
  class = "cold"
}
MOKSHA
echo t/vol_test/vol_test.golden > $C/vol/source
printf 'aws_ebs_volume.sc1\tvolume.sc1\naws_ebs_volume.big\tvolume.big[0] volume.big[1]\n' > $C/vol/map.tsv
printf 't/vol_test/vol_test.golden\taws_lambda_function.fn\tno function type\nt/other_test/other_test.golden\t*\tnot this one\n' > $C/skip.tsv
: > $C/known.tsv

# the report into a directory of the test's own, not the build's
FIDELITY_OUT="$(pwd)/report"
export FIDELITY_OUT
run() { FIDELITY_CORPUS=$(pwd)/corpus sh tree/tests/fidelity/run.sh "$(dirname "$MOKSHA")" "$@"; }

# ---- the figures, per group ----
expect_exit 0 run
expect_contains "$OUT" 'fidelity: infracost calibration   2 expressible,   2 within 5% (100%), 0 known, 0 off; 1 skipped'
expect_contains "$OUT" 'fidelity: infracost independent   0 expressible,   0 within 5% (-), 0 known, 0 off; 1 skipped'
expect_contains "$OUT" 'vol                              golden $1500.75, moksha $1500.75 (golden total $1500.95)'
expect_contains "$OUT" 'fidelity: 2 passed, 0 failed'
R=report/infracost.tsv
expect_contains "$R" "$(printf 'vol\tcalibration\taws_ebs_volume.big\tvolume.big[0] volume.big[1]\t1500.00\t1500.00\tok\t+0.0%%')"
expect_contains "$R" "$(printf 't/other_test/other_test.golden\tindependent\taws_ebs_volume.x\t-\t0.75\t-\tskip\tnot this one')"

# ---- within 5% but still listed as known ----
printf 't/vol_test/vol_test.golden\taws_ebs_volume.sc1\twas off\n' > $C/known.tsv
expect_exit 1 run
expect_contains "$OUT" 'FAIL vol: aws_ebs_volume.sc1 is within 5% (0.75 vs 0.75) but still in known.tsv'

# ---- off and not known; then known, with its reason in the report ----
: > $C/known.tsv
sed -i 's/size  = 50GiB/size  = 60GiB/' $C/vol/main.moksha
expect_exit 1 run
expect_contains "$OUT" 'FAIL vol: aws_ebs_volume.sc1: moksha 0.90 vs golden 0.75 (+20.0%), not in known.tsv'
printf 't/vol_test/vol_test.golden\taws_ebs_volume.sc1\ta size the golden does not have\n' > $C/known.tsv
expect_exit 0 run
expect_contains "$OUT" '1 within 5% (50%), 1 known, 0 off'
expect_contains report/report.txt 'vol aws_ebs_volume.sc1: golden $0.75, moksha $0.90 (+20.0% a size the golden does not have)'

# ---- every golden resource mapped or skipped; every golden covered ----
printf 'aws_ebs_volume.sc1\tvolume.sc1\n' > $C/vol/map.tsv
expect_exit 1 run
expect_contains "$OUT" 'FAIL vol: aws_ebs_volume.big is neither in map.tsv nor in skip.tsv'
printf 'aws_ebs_volume.sc1\tvolume.nope\naws_ebs_volume.big\tvolume.big[0] volume.big[1]\n' > $C/vol/map.tsv
expect_exit 1 run
expect_contains "$OUT" 'FAIL vol: map.tsv maps aws_ebs_volume.sc1 to volume.nope, which moksha cost does not list'
printf 'aws_ebs_volume.sc1\tvolume.sc1\naws_ebs_volume.big\tvolume.big[0] volume.big[1]\n' > $C/vol/map.tsv
printf 't/vol_test/vol_test.golden\taws_lambda_function.fn\tno function type\n' > $C/skip.tsv
expect_exit 1 run
expect_contains "$OUT" 'FAIL t/other_test/other_test.golden: aws_ebs_volume.x is neither in map.tsv nor in skip.tsv'

# ---- one case alone: the others are not looked at ----
expect_exit 0 run vol
expect_contains "$OUT" 'fidelity: 2 passed, 0 failed'

# ---- no corpus: said, and not a failure ----
expect_exit 0 env FIDELITY_CORPUS=/nonexistent sh tree/tests/fidelity/run.sh "$(dirname "$MOKSHA")"
expect_contains "$OUT" 'fidelity: infracost skipped: no corpus'
