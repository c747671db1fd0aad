// Checked front end of ISNet's heatmap loss (isnet-edda.md A.1; the formula is IsnetLossDesc's): background
// relevance peaks penalised relative to the foreground mean, the foreground total kept in [C1, C2].
#pragma once
#include "lrp/generator.h"
#include "lrp/kernels/descs.h"
#include "lrp/tensor.h"

namespace lrp::ops {

struct IsnetLossParams {
    float decay = 0.9f;  // GWRP decay d in [0, 1] (0: the maximum, 1: the mean)
    float E = 1.f;       // background activation g / (g + E), > 0
    float A = 1.f;       // background weight, >= 0
    float B = 3.f;       // foreground weight, >= 0
    float C1 = 1.f, C2 = 25.f;  // foreground total range, 0 < C1 <= C2
    // the term above C2 (the authors' alternativeForeground): kernels::kIsnetForegroundL2 (the original ISNet's),
    // L1, or Hybrid (Faster ISNet's: L2 up to C1 + C2, then linear); IsnetLossDesc has the formulas
    int foreground = kernels::kIsnetForegroundL2;
};

// The foreground mode of a name (l2 | l1 | hybrid: the authors' L2 | L1 | hybrid), and back; `what` opens the error.
int isnet_foreground_mode(const std::string& name, const std::string& what);
const char* isnet_foreground_name(int mode);

// maps: F32 [N, K, C, H, W] (K maps per image) or [N, C, H, W] (K = 1); mask: F32 [N, H, W] or [N, 1, H, W],
// foreground where != 0. Writes loss (F32 [N]: each sample's L), dmaps (the shape of maps: the gradient of the
// batch mean sum_n loss[n] / N) and bad (I32 [N]: 1 where a sample's maps hold NaN or +-Inf; its loss and
// gradient are then 0). All on the maps' device; no host synchronisation.
void isnet_heat_loss(const Tensor& maps, const Tensor& mask, const IsnetLossParams& p, const Tensor& loss,
                     const Tensor& dmaps, const Tensor& bad);

// Stochastic ISNet (isnet-edda.md A.4): per row of logits (F32 [N, K]) the class to explain, I32 [N]: the arg-max
// with probability 1/2, else a uniformly drawn other class (K = 1: the arg-max). Philox draws from g (2N numbers),
// the same on every backend. No host synchronisation.
Tensor isnet_pick_class(const Tensor& logits, Generator& g);

// Selective ISNet (isnet-edda.md A.4): per row of logits z (F32 [N, K]) the seed of the relevance pass for the lowest
// logit (the first arg-min), by form. kIsnetSelectiveLogOdds (as LRP-Flex runs it): d eta/dz of eta = log(q + eps) -
// log(1 - q + eps), q that logit's softmax probability. kIsnetSelectiveSoftmin (the LRP Block's output rule): the
// softmin redistribution over the logit differences, then LRP-epsilon (eps) through each difference layer, as the
// seed u whose gradient pass gives the last layer's input that relevance (kernels::isnet_softmin_row). eps > 0.
// isnet_selective_seed returns the seed (F32 [N, K]); isnet_selective_vjp returns J^T u for u = dL/d(seed) ([N, K]),
// J the seed's Jacobian in z: how the loss moves the logits through the seed.
Tensor isnet_selective_seed(const Tensor& logits, float eps, int form = kernels::kIsnetSelectiveLogOdds);
Tensor isnet_selective_vjp(const Tensor& logits, float eps, const Tensor& u, int form = kernels::kIsnetSelectiveLogOdds);

// Global weighted rank pooling per row of v (F32 [M, L]; LRP deep supervision's reduction over layers, isnet-edda.md
// A.1): the row ranked descending (ties: the lower index first), weights d^rank / sum_r d^r (decay d in [0, 1]; 0: the
// maximum, 1: the mean). Writes total (F32 [M]) and w (F32 [M, L], d total / d v). The values must be finite (NaN
// has no rank; ISNet's per-layer losses are). No host synchronisation.
void gwrp_rows(const Tensor& v, float decay, const Tensor& total, const Tensor& w);

}  // namespace lrp::ops
