#!/usr/bin/env bash
# CLI test of the composite flags of `lrpcu eval --occlusion` (--occlusion-rule, -first-rule, -layer-rule,
# -epsilon, ...): a rule restating the composite's own gives the same curves, a changed rule is recorded in
# occlusion.json ("user_rules"; "rules", every layer's rule, is there in any case), and bad values name the flag.
# Usage: cli_occlusion_rules.sh <out-dir> <lrpcu> <checkpoint>
set -u
out=$1 lrpcu=$2 ckpt=$3
rm -rf "$out"
run() {  # run <subdir> [flags...]: occlusion curves of 48 synthetic test images into $out/<subdir>
  local d=$1
  shift
  log=$("$lrpcu" eval --weights "$ckpt" --subset 48 --batch-size 16 --device cpu --occlusion --occlusion-steps 4 \
        --occlusion-out "$out/$d/" "$@" 2>&1) || { echo "exit $? for $*:"; echo "$log"; exit 1; }
}
field() {  # field <subdir> <key>: the occlusion object's value of key, as JSON
  python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["occlusion"].get(sys.argv[2])))' \
    "$out/$1/occlusion.json" "$2"
}
run base
run same --occlusion-rule conv=gamma:0.25
[[ $(field same user_rules) == 1 ]] || { echo "user_rules: $(field same user_rules), want 1"; exit 1; }
[[ $(field same accuracy_morf) == "$(field base accuracy_morf)" ]] ||
  { echo "a rule restating epsilon_gamma_box's own changed the MoRF curve"; exit 1; }
# Every layer's rule is recorded, with or without user rules: here the same table.
grep -q "Gamma" <<<"$(field base rules)" || { echo "no rules recorded without user rules: $(field base rules)"; exit 1; }
[[ $(field base rules) == "$(field same rules)" ]] || { echo "a rule restating the composite's changed the table"; exit 1; }
[[ $(field base user_rules) == null ]] || { echo "user_rules recorded without user rules"; exit 1; }
run flat --occlusion-layer-rule layer1.0.conv1=flat --occlusion-first-rule conv=flat --occlusion-residual copy
grep -qF 'epsilon_gamma_box + 2 user rule(s)' <<<"$log" || { echo "no user-rule count in:"; echo "$log"; exit 1; }
rules=$(field flat rules)
for re in 'conv1 +Conv2d +Flat' 'layer1\.0\.conv1 +Conv2d +Flat' 'layer1\.0\.conv2 +Conv2d +Gamma' 'residual copy'; do
  grep -Eq "$re" <<<"$rules" || { echo "no /$re/ in the recorded rules: $rules"; exit 1; }
done
expect_error() {  # expect_error <regex> [flags...]
  local re=$1
  shift
  log=$("$lrpcu" eval --weights "$ckpt" --subset 48 --device cpu --occlusion --occlusion-out "$out/bad/" "$@" 2>&1) &&
    { echo "no error for $*"; exit 1; }
  grep -Eq -- "$re" <<<"$log" || { echo "output of $* does not match /$re/:"; echo "$log"; exit 1; }
}
expect_error "--occlusion-rule 'conv=bogus': .*unknown rule 'bogus'" --occlusion-rule conv=bogus
expect_error "--occlusion-epsilon must be a finite number >= 0 \(got nan\)" --occlusion-epsilon nan
expect_error "--occlusion-low must not exceed --occlusion-high" --occlusion-low 2 --occlusion-high 1
# Refused before the evaluation runs (no accuracy printed first): an unknown layer name, bounds per channel
# for another channel count.
expect_error "--occlusion-layer-rule layer9\.conv1=flat: no layer named 'layer9\.conv1'" --occlusion-layer-rule layer9.conv1=flat
! grep -q "top-1" <<<"$log" || { echo "the evaluation ran before the unknown layer name was refused:"; echo "$log"; exit 1; }
expect_error "ZBox bound .* has 2 per-channel values, but the images have 3 channel" --occlusion-low 0,0 --occlusion-high 1,1
! grep -q "top-1" <<<"$log" || { echo "the evaluation ran before the bounds were refused:"; echo "$log"; exit 1; }
echo "ok: occlusion composite flags applied and recorded"
