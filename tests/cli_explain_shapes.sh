#!/usr/bin/env bash
# CLI test: `lrpcu explain --input x.npy` with an array the model cannot take is a clear error: other
# channel counts name both, and a size a CIFAR-form VGG's classifier cannot take (or a non-square one) says
# so; a ResNet takes
# any size (adaptive pooling); --labels of the wrong type or count, and a corrupt .npy, are named; uint8
# labels are taken, uint8 pixels, channels-last and single-image arrays are refused with a hint.
# Usage: cli_explain_shapes.sh <out-dir> <lrpcu> <resnet-checkpoint>
set -u
out=$1 lrpcu=$2 resnet=$3
rm -rf "$out" && mkdir -p "$out"
python3 - "$out" <<'PY' || exit 1
import array, os, struct, sys
def npy(name, shape, descr="<f4", code="f", extra=b""):
    n = 1
    for s in shape: n *= s
    hdr = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, "".join(f"{s}, " for s in shape))
    hdr += " " * (64 - (10 + len(hdr) + 1) % 64) + "\n"
    with open(os.path.join(sys.argv[1], name), "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode())
        f.write(array.array(code, [(i % 7) / 7.0 if code == "f" else i % 3 for i in range(n)]).tobytes() + extra)
npy("gray.npy", (1, 1, 32, 32))
npy("wide.npy", (1, 3, 32, 64))
npy("big.npy", (1, 3, 64, 64))
npy("two.npy", (2, 3, 32, 32))
npy("labels_i64.npy", (2,), "<i8", "q")
npy("labels_f32.npy", (2,), "<f4", "f")
npy("labels_three.npy", (3,), "<i4", "i")
npy("trailing.npy", (1, 3, 32, 32), extra=b"\0\0\0\0")
npy("labels_u8.npy", (2,), "|u1", "B")
npy("pixels_u8.npy", (2, 3, 32, 32), "|u1", "B")
npy("nhwc.npy", (1, 32, 32, 3))
npy("chw.npy", (3, 32, 32))
PY
expect() {  # expect <want-exit: 0|fail> <regex> <lrpcu args...>
  local want=$1 re=$2
  shift 2
  local log rc
  log=$("$lrpcu" "$@" 2>&1)
  rc=$?
  if [[ $want == 0 ]]; then [[ $rc == 0 ]] || { echo "exit $rc for $*:"; echo "$log"; exit 1; }
  else [[ $rc != 0 ]] || { echo "no error for $*:"; echo "$log"; exit 1; }; fi
  grep -Eq -- "$re" <<<"$log" || { echo "output of $* does not match /$re/:"; echo "$log"; exit 1; }
}
expect fail "the input \[1, 1, 32, 32\] has 1 channel\(s\), but the weights in .* take 3" \
  explain --weights "$resnet" --input "$out/gray.npy" --device cpu --out "$out/gray"
expect 0 "wrote .*relevance.npy \(\[1, 3, 32, 64\]\)" \
  explain --weights "$resnet" --input "$out/wide.npy" --device cpu --out "$out/resnet-wide"
expect 0 "wrote .*relevance.npy \(\[2, 3, 32, 32\]\)" \
  explain --weights "$resnet" --input "$out/two.npy" --labels "$out/labels_i64.npy" --target label --device cpu \
  --out "$out/labelled"
expect fail "--labels .*labels_f32.npy: need 2 integer labels \(one per input\), got f32 \[2\]" \
  explain --weights "$resnet" --input "$out/two.npy" --labels "$out/labels_f32.npy" --target label --device cpu \
  --out "$out/labels-f32"
expect fail "--labels .*labels_three.npy: need 2 integer labels \(one per input\), got i32 \[3\]" \
  explain --weights "$resnet" --input "$out/two.npy" --labels "$out/labels_three.npy" --target label --device cpu \
  --out "$out/labels-three"
expect 0 "wrote .*relevance.npy \(\[2, 3, 32, 32\]\)" \
  explain --weights "$resnet" --input "$out/two.npy" --labels "$out/labels_u8.npy" --target label --device cpu \
  --out "$out/labels-u8"
cmp -s "$out/labelled/relevance.npy" "$out/labels-u8/relevance.npy" || { echo "uint8 labels gave other maps"; exit 1; }
expect fail "--input: need float32 N x C x H x W, got an integer array \(i32 \[2, 3, 32, 32\]\): raw pixels are not taken as .npy" \
  explain --weights "$resnet" --input "$out/pixels_u8.npy" --device cpu --out "$out/pixels-u8"
expect fail "the input \[1, 32, 32, 3\] has 32 channel\(s\), .* take 3 \(channels last\? save it as N x C x H x W" \
  explain --weights "$resnet" --input "$out/nhwc.npy" --device cpu --out "$out/nhwc"
expect fail "--input: need float32 N x C x H x W, got \[3, 32, 32\] \(one image\? add the batch axis: x\[None\]\)" \
  explain --weights "$resnet" --input "$out/chw.npy" --device cpu --out "$out/chw"
expect fail "trailing.npy': a '<f4' array of shape \[1, 3, 32, 32\] needs 12288 data bytes, but the file holds 12292" \
  explain --weights "$resnet" --input "$out/trailing.npy" --device cpu --out "$out/trailing"
"$lrpcu" train --dataset synthetic --arch vgg11 --train-subset 32 --test-subset 16 --width 4 --epochs 1 \
  --batch-size 16 --device cpu --out "$out/vgg" > "$out/vgg.log" 2>&1 || { echo "VGG training failed:"; cat "$out/vgg.log"; exit 1; }
expect fail "vgg11 \(CIFAR form\) needs square inputs, got 32 x 64 \(height x width\)" \
  explain --weights "$out/vgg/checkpoint.safetensors" --input "$out/wide.npy" --device cpu --out "$out/vgg-wide"
expect fail "wrong shape: classifier.weight is \[10, 32\], expected \[10, 128\] \(its input follows the image size" \
  explain --weights "$out/vgg/checkpoint.safetensors" --input "$out/big.npy" --device cpu --out "$out/vgg-big"
echo "ok: shape errors are clear"
