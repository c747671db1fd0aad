#!/usr/bin/env bash
# CLI test of the user rule maps of `lrpcu explain` (--rule, --first-rule, --layer-rule, --residual): the
# printed assignment shows each rule where it belongs, rules that restate the composite's own give the
# same relevance bit for bit, and a changed rule changes it; epsilon_gamma_box takes its ZBox bounds from
# the dataset's statistics unless --low/--high say otherwise, and without either it is a clear error; a rule that
# no layer gets is warned about.
# Usage: cli_explain_rules.sh <out-dir> <lrpcu> <checkpoint>
set -u
out=$1 lrpcu=$2 ckpt=$3
rm -rf "$out"
run() {  # run <subdir> [flags...]: explain 2 synthetic samples into $out/<subdir>, output in $log
  local d=$1
  shift
  log=$("$lrpcu" explain --weights "$ckpt" --dataset synthetic --samples 2 --target label --device cpu \
        --out "$out/$d" "$@" 2>&1) || { echo "exit $? for $*:"; echo "$log"; exit 1; }
}
expect_line() {  # expect_line <extended-regex>: a line of $log matches
  grep -Eq -- "$1" <<<"$log" || { echo "no line matches /$1/ in:"; echo "$log"; exit 1; }
}
run base
run same --rule conv=zplus --first-rule any_linear=flat --layer-rule fc=epsilon --residual norm_split
expect_line 'with composite epsilon_plus_flat \+ 3 user rule\(s\)'
cmp -s "$out/base/relevance.npy" "$out/same/relevance.npy" ||
  { echo "rules restating epsilon_plus_flat changed the relevance"; exit 1; }
run mixed --rule conv=gamma:0.5 --first-rule conv=zbox:-3:3 --layer-rule fc=epsilon:0.1:zero_bias \
  --layer-rule layer1.0.conv2=alpha_beta:1 --residual copy --print-rules
expect_line '^composite epsilon_plus_flat \(residual copy, bn_fold zennit_0_5_1\)'
expect_line '^  conv1 +Conv2d +ZBox\(low=-3, high=3, stabilizer=1e-06\)'
expect_line '^  layer1\.0\.conv1 +Conv2d +Gamma\(gamma=0\.5, stabilizer=1e-06\)'
expect_line '^  layer1\.0\.conv2 +Conv2d +AlphaBeta\(alpha=1, beta=0, stabilizer=1e-06\)'
expect_line '^  fc +Linear +Epsilon\(epsilon=0\.1, zero_bias\)'
expect_line '^  avgpool +[A-Za-z0-9]+ +Norm\(stabilizer=1e-06\)'
cmp -s "$out/base/relevance.npy" "$out/mixed/relevance.npy" && { echo "the user rules did not change the relevance"; exit 1; }
! grep -q "is the rule of no layer" <<<"$log" || { echo "a warning for rules that are assigned:"; echo "$log"; exit 1; }
# Rules no layer gets: BatchNorm folded away (by type and by name), an entry shadowed by an earlier one. Each is
# warned about, and the relevance is the composite's own.
run unassigned --rule bn=epsilon:0.5 --layer-rule layer1.0.bn1=flat --rule conv=zplus --rule conv=gamma
expect_line '--rule bn=epsilon:0\.5 is the rule of no layer \(BatchNorm layers are folded .*--bn-fold none keeps them\)'
expect_line '--layer-rule layer1\.0\.bn1=flat is the rule of no layer \(BatchNorm layers are folded'
expect_line '--rule conv=gamma is the rule of no layer \(an earlier entry takes those layers'
! grep -q -- "--rule conv=zplus is the rule of no layer" <<<"$log" || { echo "$log"; exit 1; }
run unassigned2 --rule linear=epsilon:0.1 --layer-rule fc=epsilon --rule maxpool=flat
expect_line '--rule linear=epsilon:0\.1 is the rule of no layer \(--layer-rule gives each such layer its own\)'
expect_line '--rule maxpool=flat is the rule of no layer \(the model has no maxpool layer\)'
cmp -s "$out/base/relevance.npy" "$out/unassigned2/relevance.npy" || { echo "unassigned2 changed the relevance"; exit 1; }
cmp -s "$out/base/relevance.npy" "$out/unassigned/relevance.npy" ||
  { echo "rules that no layer gets (and zplus restating the composite) changed the relevance"; exit 1; }
run egb --composite epsilon_gamma_box --print-rules
expect_line '^  conv1 +Conv2d +ZBox\(low=\[-[0-9.]+, -[0-9.]+, -[0-9.]+\], high=\[[0-9.]+, [0-9.]+, [0-9.]+\], stabilizer'
run egb_low --composite epsilon_gamma_box --low -5 --print-rules
expect_line '^  conv1 +Conv2d +ZBox\(low=-5, high=\[[0-9.]+, [0-9.]+, [0-9.]+\], stabilizer'
# The exported weights and a .npy input: the bounds follow from the normalisation model.safetensors records,
# and its arch and width need no flags. A plain state_dict (the metadata stripped) with --normalize data has no
# dataset to take them from.
model=$(dirname "$ckpt")/model.safetensors
"$lrpcu" explain --weights "$model" --input "$out/base/relevance.npy" --composite epsilon_gamma_box --device cpu \
  --out "$out/egb_rec" > /dev/null 2>&1 ||
  { echo "epsilon_gamma_box on model.safetensors did not take its recorded normalisation's bounds"; exit 1; }
python3 "$(dirname "$0")/edit_metadata.py" "$model" "$out/plain.safetensors" || exit 1
log=$("$lrpcu" explain --weights "$out/plain.safetensors" --arch resnet18 --width 2 --normalize data \
      --input "$out/base/relevance.npy" --composite epsilon_gamma_box --device cpu --out "$out/egb_npy" 2>&1) &&
  { echo "no error for epsilon_gamma_box without bounds or dataset:"; echo "$log"; exit 1; }
expect_line 'composite epsilon_gamma_box needs the ZBox input bounds: pass --low and --high .*or --dataset'
[[ ! -e $out/egb_npy ]] || { echo "the refused run wrote $out/egb_npy"; exit 1; }
echo "ok: user rules assigned and applied"
