// Decoy datasets (lrp/data/decoy.h): Ross et al.'s shades, one swatch per image in a corner with its mask, the same
// dataset for the same seed, subsets keeping the masks; the loader crops and flips the masks with the images (CPU,
// and CUDA against CPU); ISNet's foreground leaves the swatch out.
#include <gtest/gtest.h>

#include <cstring>
#include <set>

#include "lrp/data/decoy.h"
#include "lrp/train/isnet_step.h"
#include "lrp/train/loader.h"
#include "test_util.h"

using namespace lrp;
using namespace lrp::data;

namespace {

// N images of C x H x W whose pixels are all `value`, labels n % K.
Dataset flat(int64_t N, int64_t C, int64_t H, int64_t W, int K, uint8_t value) {
    Dataset d;
    d.name = "flat";
    d.num_classes = K;
    d.images = Tensor::empty(Shape{N, C, H, W}, DType::U8);
    std::memset(d.images.raw_data(), value, static_cast<size_t>(N * C * H * W));
    std::vector<int32_t> y(static_cast<size_t>(N));
    for (int64_t n = 0; n < N; ++n) y[n] = static_cast<int32_t>(n % K);
    d.labels = Tensor::from_vector(y, Shape{N});
    d.mean.assign(static_cast<size_t>(C), 0.1f);
    d.std.assign(static_cast<size_t>(C), 0.3f);
    return d;
}

DecoyOptions opts(const std::string& shade, int size = 3, uint64_t seed = 0) {
    DecoyOptions o;
    o.shade = shade;
    o.size = size;
    o.seed = seed;
    return o;
}

struct Swatch {
    int64_t y0 = -1, x0 = -1;
    int shade = -1;
};

// The swatch of image n (the pixels of `ds` that differ from `background`), checked to be one size x size square in a
// corner with one shade in every channel, and the mask 0 exactly there.
Swatch find_swatch(const Dataset& ds, int64_t n, int size, uint8_t background) {
    const int64_t C = ds.channels(), H = ds.height(), W = ds.width();
    const uint8_t* im = ds.images.data<uint8_t>() + n * C * H * W;
    const uint8_t* m = ds.masks.data<uint8_t>() + n * H * W;
    Swatch s;
    int64_t count = 0;
    for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) {
            const bool in = im[y * W + x] != background;
            for (int64_t c = 1; c < C; ++c) EXPECT_EQ(im[(c * H + y) * W + x], im[y * W + x]) << n;
            EXPECT_EQ(m[y * W + x], in ? 0 : 255) << n << " " << y << " " << x;
            if (!in) continue;
            if (s.y0 < 0) s.y0 = y, s.x0 = x, s.shade = im[y * W + x];
            EXPECT_EQ(im[y * W + x], s.shade) << n;
            EXPECT_TRUE(y >= s.y0 && y < s.y0 + size && x >= s.x0 && x < s.x0 + size) << n;
            ++count;
        }
    EXPECT_EQ(count, size * size) << n;
    EXPECT_TRUE(s.y0 == 0 || s.y0 == H - size) << n;
    EXPECT_TRUE(s.x0 == 0 || s.x0 == W - size) << n;
    return s;
}

}  // namespace

TEST(Decoy, ShadesAreRossEtAls) {
    for (int y = 0; y < 10; ++y) EXPECT_EQ(decoy_shade(y, 10), 255 - 25 * y);
    EXPECT_EQ(decoy_shade(0, 1), 255);
    EXPECT_EQ(decoy_shade(0, 100), 255);
    EXPECT_EQ(decoy_shade(99, 100), 30);
    EXPECT_EQ(decoy_shade(1, 2), 30);
    test::expect_error([] { decoy_shade(10, 10); }, {"class 10 out of range [0, 10)"});
}

TEST(Decoy, LabelShadeSwatchInACornerWithItsMask) {
    Dataset ds = flat(64, 2, 7, 9, 10, 1);
    add_decoy(ds, opts("label"), Split::Train);
    ASSERT_TRUE(ds.masks.defined());
    EXPECT_EQ(ds.masks.shape(), Shape({64, 1, 7, 9}));
    std::set<std::pair<int64_t, int64_t>> corners;
    for (int64_t n = 0; n < 64; ++n) {
        const Swatch s = find_swatch(ds, n, 3, 1);
        EXPECT_EQ(s.shade, decoy_shade(static_cast<int>(n % 10), 10)) << n;
        corners.insert({s.y0, s.x0});
    }
    EXPECT_EQ(corners.size(), 4u);  // every corner is used
}

TEST(Decoy, RandomShadeIsAnyClasssAndRarelyTheLabels) {
    Dataset ds = flat(400, 1, 6, 6, 10, 1);
    add_decoy(ds, opts("random", 2), Split::Test);
    std::set<int> shades;
    int64_t same = 0;
    for (int64_t n = 0; n < 400; ++n) {
        const Swatch s = find_swatch(ds, n, 2, 1);
        shades.insert(s.shade);
        same += s.shade == decoy_shade(static_cast<int>(n % 10), 10);
    }
    EXPECT_EQ(shades.size(), 10u);
    EXPECT_GT(same, 10);  // about 1 in 10 (40 expected)
    EXPECT_LT(same, 80);
}

TEST(Decoy, SameSeedSameDatasetOtherSeedOrSplitOther) {
    auto make = [](uint64_t seed, Split sp) {
        Dataset ds = flat(48, 1, 8, 8, 4, 1);
        add_decoy(ds, opts("label", 3, seed), sp);
        return ds.images.to_vector<uint8_t>();
    };
    EXPECT_EQ(make(5, Split::Train), make(5, Split::Train));
    EXPECT_NE(make(5, Split::Train), make(6, Split::Train));
    EXPECT_NE(make(5, Split::Train), make(5, Split::Test));
}

TEST(Decoy, NoneLeavesTheDatasetAlone) {
    Dataset ds = flat(8, 1, 5, 5, 2, 9);
    add_decoy(ds, opts("none"), Split::Train);
    EXPECT_FALSE(ds.masks.defined());
    for (uint8_t v : ds.images.to_vector<uint8_t>()) EXPECT_EQ(v, 9);
}

TEST(Decoy, SubsetsKeepEachImagesMask) {
    Dataset ds = flat(40, 1, 6, 6, 4, 1);
    add_decoy(ds, opts("label", 2), Split::Train);
    const auto rows_of = [](const Tensor& t, int64_t row) {
        const int64_t per = t.numel() / t.dim(0);
        const auto v = t.to_vector<uint8_t>();
        return std::vector<uint8_t>(v.begin() + row * per, v.begin() + (row + 1) * per);
    };
    const Dataset sub = ds.subset(5, 9);
    ASSERT_TRUE(sub.masks.defined());
    for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(rows_of(sub.masks, i), rows_of(ds.masks, 5 + i));
    const auto [held, rest] = ds.split_stratified(8, 3);
    ASSERT_TRUE(held.masks.defined() && rest.masks.defined());
    EXPECT_EQ(held.masks.dim(0) + rest.masks.dim(0), 40);
    for (const Dataset* part : {&held, &rest, &sub})  // each image's swatch still matches its mask
        for (int64_t n = 0; n < part->size(); ++n) find_swatch(*part, n, 2, 1);
    const Dataset strat = ds.take_stratified(12, 1);
    ASSERT_TRUE(strat.masks.defined());
    for (int64_t n = 0; n < strat.size(); ++n) find_swatch(strat, n, 2, 1);
}

TEST(Decoy, BadOptionsAreErrors) {
    Dataset ds = flat(4, 1, 5, 6, 2, 1);
    test::expect_error([&] { add_decoy(ds, opts("blue"), Split::Train); },
                       {"the shade must be none, label or random (got 'blue')"});
    test::expect_error([&] { add_decoy(ds, opts("label", 0), Split::Train); }, {"swatch size must be >= 1"});
    test::expect_error([&] { add_decoy(ds, opts("label", 6), Split::Train); },
                       {"a 6x6 swatch does not fit the 5x6 images of 'flat' (--decoy-size)"});
    EXPECT_FALSE(ds.masks.defined());  // nothing drawn
    ds.labels = Tensor::from_vector(std::vector<int32_t>{0, 1, 2, 1}, Shape{4});
    test::expect_error([&] { add_decoy(ds, opts("label"), Split::Train); },
                       {"decoy: label 2 of image 2 out of range [0, 2) in 'flat'"});
    EXPECT_FALSE(ds.masks.defined());  // checked before anything is drawn
    for (uint8_t v : ds.images.to_vector<uint8_t>()) EXPECT_EQ(v, 1);
    ds.labels = Tensor::from_vector(std::vector<int32_t>{0, 1, 1}, Shape{3});
    test::expect_error([&] { add_decoy(ds, opts("label"), Split::Train); },
                       {"decoy: dataset 'flat' has labels [3] for 4 images"});
}

namespace {
// The raw value of x (normalised with mean 0.1, std 0.3) times 255.
float raw255(float x) { return (x * 0.3f + 0.1f) * 255.f; }

// The batch's allowed mask is 1 exactly where the augmented image shows the flat value 1 (not the swatch, not the
// crop's zero padding), so it was cropped and flipped with the image.
void expect_mask_follows_image(const train::BatchSource::Batch& b) {
    ASSERT_TRUE(b.allowed.defined());
    const int64_t N = b.x.dim(0), C = b.x.dim(1), HW = b.x.dim(2) * b.x.dim(3);
    ASSERT_EQ(b.allowed.shape(), Shape({N, b.x.dim(2), b.x.dim(3)}));
    const auto x = b.x.to_vector<float>(), m = b.allowed.to_vector<float>();
    int64_t zeros = 0;
    for (int64_t n = 0; n < N; ++n)
        for (int64_t j = 0; j < HW; ++j) {
            const bool genuine = std::abs(raw255(x[n * C * HW + j]) - 1.f) < 1e-3f;
            EXPECT_EQ(m[n * HW + j], genuine ? 1.f : 0.f) << n << " " << j;
            zeros += !genuine;
        }
    EXPECT_GE(zeros, N * 4);  // every image has its swatch or, cropped out, padding
}

train::AugmentSettings crop_flip() {
    train::AugmentSettings a;
    a.crop_padding = 2;
    a.flip = true;
    return a;
}
}  // namespace

TEST(Decoy, LoaderCropsAndFlipsTheMasksWithTheImages) {
    Dataset ds = flat(48, 2, 8, 7, 3, 1);
    add_decoy(ds, opts("label", 2), Split::Train);
    train::DeviceLoader tr(ds, Device::cpu(), 16, true, crop_flip());
    tr.start_epoch(4, 1);
    for (int64_t b = 0; b < tr.batches_per_epoch(); ++b) expect_mask_follows_image(tr.batch(b));
    train::DeviceLoader ev(ds, Device::cpu(), 20, false, crop_flip());  // evaluation: no crop, the masks as stored
    ev.start_epoch(0, 0);
    const train::BatchSource::Batch b = ev.batch(0);
    expect_mask_follows_image(b);
    const auto stored = ds.masks.to_vector<uint8_t>();
    const auto m = b.allowed.to_vector<float>();
    for (size_t i = 0; i < m.size(); ++i) EXPECT_EQ(m[i], stored[i] ? 1.f : 0.f) << i;
    Dataset plain = flat(16, 1, 5, 5, 2, 1);
    train::DeviceLoader none(plain, Device::cpu(), 8, true, crop_flip());
    none.start_epoch(0, 0);
    EXPECT_FALSE(none.batch(0).allowed.defined());
}

TEST(Decoy, LoaderMasksCudaEqualCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    Dataset ds = flat(40, 1, 9, 9, 5, 1);
    add_decoy(ds, opts("random", 3), Split::Test);
    train::DeviceLoader c(ds, Device::cpu(), 13, true, crop_flip()), g(ds, Device::cuda(0), 13, true, crop_flip());
    c.start_epoch(2, 3);
    g.start_epoch(2, 3);
    for (int64_t b = 0; b < c.batches_per_epoch(); ++b) {
        const auto bc = c.batch(b), bg = g.batch(b);
        EXPECT_EQ(bc.x.to_vector<float>(), bg.x.to_vector<float>()) << b;
        EXPECT_EQ(bc.allowed.to_vector<float>(), bg.allowed.to_vector<float>()) << b;
        expect_mask_follows_image(bg);
    }
}

// Eight 1 x 6 x 6 images of one value with a 2 x 2 swatch of the label's shade each, as one evaluation batch.
train::BatchSource::Batch decoyed_batch(uint8_t value) {
    Dataset ds = flat(8, 1, 6, 6, 2, value);
    add_decoy(ds, opts("label", 2), Split::Train);
    train::DeviceLoader ev(ds, Device::cpu(), 8, false, {});
    ev.start_epoch(0, 0);
    return ev.batch(0);
}

TEST(Decoy, IsnetForegroundLeavesTheSwatchOut) {
    // Swatch (shade 255) and object (value 1, above the threshold of 0.5/255 raw) are both bright; only the mask
    // tells them apart.
    const train::BatchSource::Batch b = decoyed_batch(1);
    train::IsnetSettings s;
    s.level = {(0.5f / 255.f - 0.1f) / 0.3f};
    s.input_zero = {-0.1f / 0.3f};
    s.input_one = {0.9f / 0.3f};
    train::Isnet isnet(s);
    const auto all = isnet.mask(b.x).to_vector<float>(), fg = isnet.mask(b.x, b.allowed).to_vector<float>();
    const auto m = b.allowed.to_vector<float>();
    for (size_t i = 0; i < fg.size(); ++i) {
        EXPECT_EQ(all[i], 1.f) << i;
        EXPECT_EQ(fg[i], m[i]) << i;
    }
    test::expect_error([&] { isnet.mask(b.x, Tensor::zeros(Shape{8, 6, 5})); },
                       {"ISNet: dataset masks [8, 6, 5] on cpu for a batch [8, 1, 6, 6]"});
}

// --isnet-mask data: black images (no pixel above any threshold) whose foreground is every pixel but the swatch.
TEST(Decoy, IsnetDataMaskIsTheDatasetMasksAlone) {
    const Dataset ds = flat(8, 1, 6, 6, 2, 0);
    const train::BatchSource::Batch b = decoyed_batch(0);
    train::TrainConfig c;
    c.augment = "isnet";
    c.decoy = "label";
    c.isnet_mask = "data";
    EXPECT_NO_THROW(c.validate());
    train::Isnet isnet(train::isnet_settings(c, ds.mean, ds.std));
    EXPECT_TRUE(isnet.settings().data_mask);
    EXPECT_NE(describe(isnet.settings()).find("; foreground the dataset's masks"), std::string::npos);
    const auto fg = isnet.mask(b.x, b.allowed).to_vector<float>(), m = b.allowed.to_vector<float>();
    int64_t swatch = 0;
    for (size_t i = 0; i < fg.size(); ++i) {
        EXPECT_EQ(fg[i], m[i]) << i;
        swatch += m[i] == 0.f;
    }
    EXPECT_EQ(swatch, 8 * 4);  // one 2 x 2 swatch per image, everything else foreground
    test::expect_error([&] { isnet.mask(b.x); }, {"--isnet-mask data, but the batch carries no dataset masks"});
    c.decoy = "none";
    test::expect_error([&] { c.validate(); }, {"--isnet-mask data (given, or the value a run trained with --masks "
                                               "recorded) takes the foreground from the dataset's masks"});
}
