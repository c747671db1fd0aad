// Inputs and outputs of `lrpcu explain`: image files and dataset samples in (normalised as for training),
// heatmap / overlay PNGs and --flex-layers' hidden maps out (.npy arrays: lrp/data/npy.h).
#pragma once
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "lrp/data/dataset.h"
#include "lrp/tensor.h"
#include "lrp/train/colormap.h"

namespace lrp::cli {

// What explain runs on: x (F32 N x C x H x W, normalised), labels (I32 [N] or empty) and, when known,
// the per-channel mean/std that normalised x (for the overlays).
struct ExplainBatch {
    Tensor x, labels;
    std::vector<float> mean, std;
};

// (v / 255 - mean[c]) / std[c] of U8 N x C x H x W images, as the training loaders normalise.
Tensor normalise_images(const Tensor& u8, const std::vector<float>& mean, const std::vector<float>& std);
// The images a model takes: channels, size (0 x 0: the first image's, after resize/crop), the per-channel
// mean/std that normalise them and where the size comes from (for messages: a dataset's name).
struct ImageSpec {
    int channels = 3, height = 0, width = 0;
    std::vector<float> mean, std;
    std::string source;
};
// Image files decoded with spec.channels, resized/cropped as `o` says and normalised with spec's mean/std;
// an image of another size than the spec's (or the first image's) is an error naming the file.
ExplainBatch load_image_inputs(const std::vector<std::string>& files, const ImageSpec& spec, data::FolderOptions o);

// heatmap_rgb / overlay_rgb (lrp/train/heatmap.h) written as PNGs; with a palette (--cmap), palette_heatmap_rgb
// (lrp/train/colormap.h) instead of heatmap_rgb.
void write_heatmap(const std::string& path, const float* r, int64_t C, int64_t H, int64_t W, int scale,
                   const train::Palette* palette = nullptr);
void write_overlay(const std::string& path, const float* r, const float* x, int64_t C, int64_t H, int64_t W,
                   int scale, const std::vector<float>& mean, const std::vector<float>& std,
                   const train::Palette* palette = nullptr);

// --flex-layers: per hidden point (name, [N, C, h, w] map), hidden_<name>.npy and hidden_<name>_NNNN.png per sample
// (upscaled by about the input's H x W over the map's, times `scale`, at most 256 times), all listed in
// hidden_maps.txt (what a later --force replaces). Warns for a map that holds NaN or Inf. Returns a line for the log.
std::string write_hidden_maps(const std::string& out, const std::vector<std::pair<std::string, Tensor>>& hidden,
                              int64_t H, int64_t W, int scale, const train::Palette* palette = nullptr);
// The files an earlier --flex-layers wrote in dir, as its hidden_maps.txt lists them (plain hidden_* names that
// exist), and that list itself; none without it.
std::vector<std::filesystem::path> earlier_hidden_maps(const std::string& dir);
// The heatmap_NNNN.png / overlay_NNNN.png files in `dir` as explain names them (four digits, more without a leading
// zero; below the row count of an earlier relevance.npy there), and the hidden-layer maps an earlier --flex-layers
// listed: an earlier explain's maps, none when it is absent. Names of that form past the row count go to `kept`.
std::vector<std::filesystem::path> earlier_maps(const std::string& dir,
                                                std::vector<std::filesystem::path>* kept = nullptr);
// The temporary files an explain killed while writing left in `dir` (<output>.tmp.<pid>.<n>, of explain's own
// output names only); --force removes them with the earlier maps.
std::vector<std::filesystem::path> leftover_temps(const std::string& dir);

}  // namespace lrp::cli
