// Helpers shared by the LRP tests: seeded tensors, relative L2 error, small reference convolutions in
// double, and the device list (CPU, plus CUDA when present) for device-generic checks.
#pragma once
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "lrp/generator.h"
#include "lrp/nn/models.h"
#include "lrp/tensor.h"
#include "test_util.h"

namespace lrp::test {

// A model of `arch` for 3-channel image x image inputs (10 classes), initialised from `seed`, on d.
inline std::unique_ptr<nn::Sequential> seeded_model(const std::string& arch, int width, int image, uint64_t seed,
                                                    Device d) {
    nn::ModelSpec spec;
    spec.arch = arch;
    spec.base_width = width;
    spec.image_size = image;
    auto model = nn::make_model(spec);
    Generator g(seed);
    nn::init_weights(*model, g);
    model->to(d);
    return model;
}

inline Tensor rand_tensor(const Shape& s, uint32_t seed, float lo = -1.f, float hi = 1.f, Device d = Device::cpu()) {
    return Tensor::from_vector(random_vec(static_cast<size_t>(s.numel()), seed, lo, hi), s, d);
}

inline std::vector<double> to_double(const Tensor& t) {
    std::vector<double> out;
    for (float v : t.to_vector<float>()) out.push_back(v);
    return out;
}

// ||got - ref|| / ||ref|| (inf when the reference is zero and got is not).
template <class G, class R>
double rel_l2(const std::vector<G>& got, const std::vector<R>& ref) {
    double e = 0, n = 0;
    for (size_t i = 0; i < got.size() && i < ref.size(); ++i) {
        const double d = double(got[i]) - double(ref[i]);
        e += d * d;
        n += double(ref[i]) * double(ref[i]);
    }
    if (got.size() != ref.size()) return INFINITY;
    if (n == 0) return e == 0 ? 0 : INFINITY;
    return std::sqrt(e / n);
}
inline double rel_l2(const Tensor& got, const Tensor& ref) { return rel_l2(to_double(got), to_double(ref)); }

inline double sum_of(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s;
}

}  // namespace lrp::test
