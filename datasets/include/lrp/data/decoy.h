// Decoy datasets (Ross et al., "Right for the Right Reasons", IJCAI 2017: Decoy MNIST): a grey swatch in a corner
// of every image whose shade encodes the class (a shortcut a model can learn instead of the object), and the
// per-pixel mask of where each image's genuine content may lie (everything but the swatch), for ISNet's heatmap loss.
#pragma once
#include <cstdint>
#include <string>

#include "lrp/data/dataset.h"

namespace lrp::data {

struct DecoyOptions {
    // none: no decoy; label: the swatch has the shade of the image's label (Ross et al.'s training set); random:
    // the shade of a uniformly drawn class (their test set: the shortcut points at the right class 1 time in K).
    std::string shade = "none";
    int size = 4;        // the swatch is size x size pixels, in one of the four corners (chosen per image)
    uint64_t seed = 0;   // which corner (and, for random, which shade) each image gets; fixed per (seed, split, row)
};

// Throws unless shade is none, label or random and size >= 1.
void check_decoy(const DecoyOptions& o);
// The swatch value of class y of K (every channel): 255 - round(225 y / (K - 1)), so 255, 230, ..., 30 for K = 10
// (Ross et al.'s 255 - 25 y); 255 for K = 1. Distinct for K <= 226; more classes share shades.
uint8_t decoy_shade(int y, int K);
// Draws the swatch into every image of ds (in place; rows in order, so a subset taken afterwards keeps each
// image's swatch) and ANDs ds.masks (created all-foreground when absent) with 0 on the swatch. The draws come
// from (o.seed, split, row), so every run sees the same decoy dataset. shade none: ds unchanged.
// A swatch larger than the images, or a label outside [0, num_classes): an error, with ds unchanged.
void add_decoy(Dataset& ds, const DecoyOptions& o, Split split);
// One line for logs: "decoy swatch 4x4 in a corner, shade of the label (Ross et al. 2017; seed 0)".
std::string describe(const DecoyOptions& o);

}  // namespace lrp::data
