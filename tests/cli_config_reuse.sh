#!/usr/bin/env bash
# CLI test: a run's own config.json given back as --config (it records every setting, most of them defaults of
# methods the run does not use) trains without "changes nothing" warnings; a flag of an unused method given on the
# command line, or a non-default value of one in the file, is still warned about; defaults the file's run resolved
# for its method give way to the new method's when --augment changes.
# Usage: cli_config_reuse.sh <out-dir> <lrpcu> <config.json of a run>
set -u
out=$1 lrpcu=$2 cfg=$3
rm -rf "$out"
mkdir -p "$out"
log=$("$lrpcu" train --config "$cfg" --epochs 1 --out "$out/a" 2>&1) || { echo "train failed:"; echo "$log"; exit 1; }
if grep -q "changes nothing" <<<"$log"; then echo "warnings for the file's defaults:"; echo "$log"; exit 1; fi
log=$("$lrpcu" train --config "$cfg" --epochs 1 --reldrop-p 0.3 --out "$out/b" 2>&1) || { echo "$log"; exit 1; }
grep -q -- "--reldrop-p applies to --augment reldrop" <<<"$log" || { echo "no warning for a flag:"; echo "$log"; exit 1; }
sed 's/"edda-patch": *[0-9]*/"edda-patch": 6/' "$cfg" > "$out/edited.json"
grep -q '"edda-patch": 6' "$out/edited.json" || { echo "could not edit the config"; exit 1; }
log=$("$lrpcu" train --config "$out/edited.json" --epochs 1 --out "$out/c" 2>&1) || { echo "$log"; exit 1; }
grep -q -- "--edda-patch applies to --augment edda" <<<"$log" || { echo "no warning for a file value:"; echo "$log"; exit 1; }
# A reldrop-patch run's file (p 0.5, k 5: its variant's defaults) given with --augment reldrop-pixel: pixel's own
# defaults apply (p 0.3, k 1), with a note; a value given on the command line still wins.
log=$("$lrpcu" train --config "$cfg" --epochs 1 --augment reldrop-patch --out "$out/patch" 2>&1) || { echo "$log"; exit 1; }
grep -q '"reldrop-p": 0.5,' "$out/patch/config.json" || { echo "patch run did not record p 0.5"; exit 1; }
log=$("$lrpcu" train --config "$out/patch/config.json" --augment reldrop-pixel --out "$out/pixel" 2>&1) ||
  { echo "$log"; exit 1; }
grep -q "the file's reldrop-p 0.5 is the default of its --augment/--masks; with --augment reldrop-pixel this run takes 0.3" \
  <<<"$log" || { echo "no note for the re-resolved default:"; echo "$log"; exit 1; }
grep -q '"reldrop-p": 0.3' "$out/pixel/config.json" && grep -q '"reldrop-k": 1,' "$out/pixel/config.json" ||
  { echo "reldrop-pixel kept the patch run's defaults:"; grep reldrop- "$out/pixel/config.json"; exit 1; }
log=$("$lrpcu" train --config "$out/patch/config.json" --augment reldrop-pixel --reldrop-p 0.5 --out "$out/pixel-p" 2>&1) ||
  { echo "$log"; exit 1; }
grep -q '"reldrop-p": 0.5,' "$out/pixel-p/config.json" || { echo "--reldrop-p 0.5 given was not kept"; exit 1; }
# ISNet clips the gradient norm at 1 unless told otherwise: the 0 of another method's file is not an instruction,
# but the 0 an ISNet run recorded (given on purpose) is.
grep -q '"clip-grad-norm": 0' "$cfg" || { echo "the run's config does not record clip-grad-norm 0"; exit 1; }
log=$("$lrpcu" train --config "$cfg" --epochs 1 --augment isnet --out "$out/isnet" 2>&1) || { echo "$log"; exit 1; }
grep -q "^--clip-grad-norm 1 (ISNet: the authors' setting; the --config file's value is the default of a run without" \
  <<<"$log" || { echo "no clipping from another method's file:"; echo "$log"; exit 1; }
grep -q '"clip-grad-norm": 1' "$out/isnet/config.json" || { echo "clip-grad-norm 1 not recorded"; exit 1; }
log=$("$lrpcu" train --config "$cfg" --epochs 1 --augment isnet --clip-grad-norm 0 --out "$out/isnet0" 2>&1) ||
  { echo "$log"; exit 1; }
log=$("$lrpcu" train --config "$out/isnet0/config.json" --out "$out/isnet0b" 2>&1) || { echo "$log"; exit 1; }
grep -q '"clip-grad-norm": 0' "$out/isnet0b/config.json" || { echo "an ISNet file's clip-grad-norm 0 was overridden"; exit 1; }
# AdamW takes PyTorch's lr and weight decay unless they are given (on the command line, or by an AdamW run's file).
log=$("$lrpcu" train --config "$cfg" --epochs 1 --optimizer adamw --out "$out/adamw" 2>&1) || { echo "$log"; exit 1; }
grep -q "^--lr 0.001 (AdamW: PyTorch's default" <<<"$log" && grep -q "^--weight-decay 0.01 (AdamW" <<<"$log" ||
  { echo "no AdamW defaults from an SGD run's file:"; echo "$log"; exit 1; }
grep -q '"lr": 0.001' "$out/adamw/config.json" && grep -Eq '"weight-decay": 0\.0(1|0999999)' "$out/adamw/config.json" ||
  { echo "AdamW defaults not recorded:"; grep -E '"lr"|"weight-decay"' "$out/adamw/config.json"; exit 1; }
log=$("$lrpcu" train --config "$cfg" --epochs 1 --optimizer adamw --lr 0.002 --out "$out/adamw-lr" 2>&1) ||
  { echo "$log"; exit 1; }
grep -q '"lr": 0.002' "$out/adamw-lr/config.json" || { echo "--lr 0.002 given was not kept"; exit 1; }
log=$("$lrpcu" train --config "$out/adamw-lr/config.json" --out "$out/adamw-again" 2>&1) || { echo "$log"; exit 1; }
grep -q '"lr": 0.002' "$out/adamw-again/config.json" || { echo "an AdamW file's lr was overridden"; exit 1; }
# The other way round: an AdamW run's file with --optimizer sgd, an ISNet run's file with --augment none: the
# defaults of the file's choice give way to the generic ones, with a note.
log=$("$lrpcu" train --config "$out/adamw/config.json" --optimizer sgd --out "$out/back-sgd" 2>&1) || { echo "$log"; exit 1; }
grep -q "^--lr 0.1 (the --config file's 0.001 is the default of its run's choice, AdamW" <<<"$log" ||
  { echo "no note for the AdamW file's lr:"; echo "$log"; exit 1; }
grep -q '"lr": 0.1' "$out/back-sgd/config.json" && grep -q '"weight-decay": 0.0005' "$out/back-sgd/config.json" ||
  { echo "SGD kept AdamW's defaults:"; grep -E '"lr"|"weight-decay"' "$out/back-sgd/config.json"; exit 1; }
log=$("$lrpcu" train --config "$out/isnet/config.json" --augment none --out "$out/back-none" 2>&1) || { echo "$log"; exit 1; }
grep -q '"clip-grad-norm": 0' "$out/back-none/config.json" || { echo "a plain run kept ISNet's clipping"; exit 1; }
echo ok
