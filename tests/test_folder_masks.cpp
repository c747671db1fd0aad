// Segmentation masks from files (--masks): found beside each image in a mirrored folder, binarised, resized and
// cropped with their image, carried by subsets, the streaming loader and the split layout; the errors that name
// a missing or misfitting mask; and an ISNet run whose foreground is exactly the masks.
#include <cstring>

#include "datasets_test_util.h"
#include "lrp/train/config.h"
#include "lrp/train/data_source.h"
#include "lrp/train/streaming_loader.h"
#include "lrp/train/trainer.h"
#include "trainer_test_util.h"

using namespace lrp::train;

namespace {

// A w x h grey mask: a disk around (cx, cy) of radius r (value v inside, 0 outside).
std::vector<uint8_t> disk(int w, int h, double cx, double cy, double r, uint8_t v) {
    std::vector<uint8_t> m(static_cast<size_t>(w * h), 0);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r) m[static_cast<size_t>(y * w + x)] = v;
    return m;
}

std::vector<uint8_t> noise(int n, int seed) {
    std::vector<uint8_t> v(static_cast<size_t>(n));
    uint32_t x = 2654435761u * static_cast<uint32_t>(seed + 1);
    for (auto& p : v) p = static_cast<uint8_t>((x = x * 1664525u + 1013904223u) >> 24);
    return v;
}

// A PNG written by hand (stb_image_write has no 16-bit or palette output): w x h, `channels` samples per pixel of
// `depth` bits (8 or 16, big-endian in the file), no filtering; with a palette (RGB triples), one 8-bit index.
std::string png_bytes(int w, int h, int channels, int depth, const std::vector<uint16_t>& samples,
                      const std::vector<uint8_t>& palette = {}) {
    auto be32 = [](uint32_t v) { return dstest::be32(v); };
    auto chunk = [&](const std::string& type, const std::string& data) {
        const std::string td = type + data;
        return be32(static_cast<uint32_t>(data.size())) + td +
               be32(static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(td.data()), static_cast<uInt>(td.size()))));
    };
    const int kind = !palette.empty() ? 3 : channels == 1 ? 0 : channels == 2 ? 4 : channels == 3 ? 2 : 6;
    std::string raw;
    for (int y = 0; y < h; ++y) {
        raw += '\0';
        for (int i = 0; i < w * channels; ++i) {
            const uint16_t v = samples[static_cast<size_t>(y * w * channels + i)];
            if (depth == 16) raw += static_cast<char>(v >> 8);
            raw += static_cast<char>(v & 0xff);
        }
    }
    uLongf n = compressBound(static_cast<uLong>(raw.size()));
    std::string z(n, '\0');
    EXPECT_EQ(compress(reinterpret_cast<Bytef*>(z.data()), &n, reinterpret_cast<const Bytef*>(raw.data()),
                       static_cast<uLong>(raw.size())), Z_OK);
    z.resize(n);
    const std::string ihdr = be32(static_cast<uint32_t>(w)) + be32(static_cast<uint32_t>(h)) +
                             std::string{static_cast<char>(depth), static_cast<char>(kind), 0, 0, 0};
    const std::string plte = palette.empty() ? "" : chunk("PLTE", std::string(palette.begin(), palette.end()));
    return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", ihdr) + plte + chunk("IDAT", z) + chunk("IEND", "");
}

bool same_bits(const Tensor& a, const Tensor& b) {
    if (!a.defined() || !b.defined()) return a.defined() == b.defined();
    if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
    const Tensor ca = a.to(Device::cpu()), cb = b.to(Device::cpu());
    return std::memcmp(ca.raw_data(), cb.raw_data(), ca.nbytes()) == 0;
}

}  // namespace

class FolderMasks : public DatasetsCpu {
protected:
    // Image i of class c at <root>/<c>/img<i>.png (RGB noise, w x h) and its mask, a disk of a size that
    // depends on i, at <mask_root>/<c>/img<i>.png (grey levels 1..255: any nonzero value is foreground).
    void write_pair(const std::string& root, const std::string& mask_root, const std::string& cls, int i, int w, int h) {
        const std::string name = cls + "/img" + std::to_string(100 + i) + ".png";
        write_png(root + "/" + name, w, h, 3, noise(w * h * 3, i + 7 * cls[0]));
        write_png(mask_root + "/" + name, w, h, 1, disk(w, h, w / 3.0 + i % 3, h / 2.0, 1.5 + i % 4, uint8_t(1 + 50 * (i % 6))));
    }
    void write_folder(const std::string& root, const std::string& mask_root, int per_class, int w, int h) {
        for (const char* c : {"a", "b"})
            for (int i = 0; i < per_class; ++i) write_pair(root, mask_root, c, i, w, h);
    }
    // A tiny ISNet run on the image folder d/ (all its images) in a fresh output directory.
    TrainConfig folder_run(const std::string& name, int batch, int epochs) const {
        TrainConfig c = lrp::test::tiny(lrp::test::fresh_dir(name));
        c.dataset = "folder";
        c.data_dir = path("d");
        c.train_subset = c.test_subset = 0;
        c.batch_size = batch;
        c.epochs = epochs;
        c.augment = "isnet";
        return c;
    }
};

TEST_F(FolderMasks, LoadedWithTheirImages) {
    write_folder("f", "m", 3, 9, 7);
    // A JPEG image takes the PNG mask of its name; a nested file, the mask at the same relative path.
    std::vector<uint8_t> flat(9 * 7 * 3, 90);
    fs::create_directories(path("f/b/sub"));
    ASSERT_NE(stbi_write_jpg(path("f/b/sub/z.jpg").c_str(), 9, 7, 3, flat.data(), 95), 0);
    write_png("m/b/sub/z.png", 9, 7, 1, disk(9, 7, 4, 3, 2, 255));
    FolderOptions o;
    o.mask_dir = path("m");
    Dataset d = load_image_folder(path("f"), o);
    ASSERT_TRUE(d.masks.defined());
    EXPECT_EQ(d.masks.shape(), (Shape{7, 1, 7, 9}));
    const std::vector<uint8_t> m = d.masks.to_vector<uint8_t>();
    // Order: a/img100..102, b/img100..102, b/sub/z.jpg.
    for (int k = 0; k < 7; ++k) {
        const std::vector<uint8_t> want = k < 6 ? disk(9, 7, 9 / 3.0 + k % 3 % 3, 3.5, 1.5 + (k % 3) % 4, 255)
                                                : disk(9, 7, 4, 3, 2, 255);
        for (int p = 0; p < 63; ++p) ASSERT_EQ(m[static_cast<size_t>(k * 63 + p)], want[static_cast<size_t>(p)]) << k << " " << p;
    }
    // The images are those of a load without masks; the masks travel with subsets.
    Dataset plain = load_image_folder(path("f"));
    EXPECT_FALSE(plain.masks.defined());
    EXPECT_TRUE(same_bits(plain.images, d.images));
    Dataset s = d.take_stratified(4, 3);
    FolderIndex ix = index_image_folder(path("f"), o);
    ASSERT_EQ(ix.mask_files.size(), ix.files.size());
    EXPECT_EQ(ix.mask_files.back(), path("m/b/sub/z.png"));
    const Dataset from_index = load_folder_index(ix.take_stratified(4, 3));
    EXPECT_TRUE(same_bits(from_index.masks, s.masks));
    EXPECT_TRUE(same_bits(from_index.images, s.images));
    const auto parts = ix.split_stratified(2, 5);
    const auto dparts = d.split_stratified(2, 5);
    EXPECT_TRUE(same_bits(load_folder_index(parts.first).masks, dparts.first.masks));
    EXPECT_TRUE(same_bits(load_folder_index(parts.second).masks, dparts.second.masks));
}

TEST_F(FolderMasks, ResizedAndCroppedWithTheirImage) {
    // Grey images that are their own masks (0 / 255): after Resize(5) + CenterCrop(5), the mask must be the
    // resized image thresholded at half, pixel for pixel, so any shift or flip between the two shows.
    const int w = 13, h = 10;
    for (int i = 0; i < 4; ++i) {
        const std::vector<uint8_t> shape = disk(w, h, 3 + 2 * i, 4 + (i % 2), 2.5 + i * 0.7, 255);
        write_png("g/c/img" + std::to_string(i) + ".png", w, h, 1, shape);
        write_png("gm/c/img" + std::to_string(i) + ".png", w, h, 1, shape);
    }
    write_png_fill("g/d/other.png", w, h, 0);  // a second class; its mask, all background
    write_png("gm/d/other.png", w, h, 1, std::vector<uint8_t>(static_cast<size_t>(w * h), 0));
    FolderOptions o;
    o.channels = 1;
    o.resize = 5;  // 13 x 10 -> 6 x 5
    o.crop = 5;    // -> 5 x 5, one column off the left (torchvision's offsets)
    o.mask_dir = path("gm");
    Dataset d = load_image_folder(path("g"), o);
    ASSERT_EQ(d.masks.shape(), (Shape{5, 1, 5, 5}));
    const std::vector<uint8_t> im = d.images.to_vector<uint8_t>(), m = d.masks.to_vector<uint8_t>();
    int fg = 0;
    for (size_t p = 0; p < m.size(); ++p) {
        ASSERT_EQ(m[p], im[p] >= 128 ? 255 : 0) << p;
        fg += m[p] != 0;
    }
    EXPECT_GT(fg, 5);
    EXPECT_LT(fg, 4 * 25);
}

TEST_F(FolderMasks, ErrorsNameTheMask) {
    write_folder("f", "m", 2, 6, 5);
    FolderOptions o;
    o.mask_dir = path("nowhere");
    EXPECT_TRUE(throws_with([&] { load_image_folder(path("f"), o); },
                            {path("nowhere"), "mask folder not found", "(the masks of " + path("f") + ")", "--masks"}));
    fs::remove(path("m/a/img101.png"));
    fs::remove(path("m/b/img100.png"));
    o.mask_dir = path("m");
    EXPECT_TRUE(throws_with([&] { index_image_folder(path("f"), o); },
                            {"2 of the 4 images have no mask", path("m/a/img101.png") + " (of " + path("f/a/img101.png") + ")",
                             path("m/b/img100.png")}));
    write_pair("f", "m", "a", 1, 6, 5);
    // A mask of another size, and a damaged one, are found when the folder is indexed (before a streamed run).
    write_png("m/b/img100.png", 5, 5, 1, std::vector<uint8_t>(25, 255));
    EXPECT_TRUE(throws_with([&] { index_image_folder(path("f"), o); },
                            {path("m/b/img100.png"), "the mask is 5x5 but its image " + path("f/b/img100.png") + " is 6x5"}));
    write("m/b/img100.png", "not a PNG");
    EXPECT_TRUE(throws_with([&] { index_image_folder(path("f"), o); },
                            {path("m/b/img100.png"), "cannot decode the mask (not a PNG or JPEG file: it starts with 6e"}));
    write_pair("f", "m", "b", 0, 6, 5);
    // Decoding checks them again (a mask replaced after indexing).
    FolderIndex ix = index_image_folder(path("f"), o);
    write_png("m/b/img100.png", 6, 6, 1, std::vector<uint8_t>(36, 255));
    std::vector<uint8_t> px(static_cast<size_t>(ix.image_bytes())), mk(30);
    const int64_t row = std::find(ix.files.begin(), ix.files.end(), path("f/b/img100.png")) - ix.files.begin();
    EXPECT_TRUE(throws_with([&] { decode_indexed(ix, row, px.data(), mk.data()); }, {"the mask is 6x6"}));
    write_pair("f", "m", "b", 0, 6, 5);
    // Two images of one name would share a mask.
    std::vector<uint8_t> flat(6 * 5 * 3, 70);
    ASSERT_NE(stbi_write_jpg(path("f/a/img100.jpg").c_str(), 6, 5, 3, flat.data(), 95), 0);
    EXPECT_TRUE(throws_with([&] { index_image_folder(path("f"), o); },
                            {path("m/a/img100.png"), "the images " + path("f/a/img100.jpg") + " and " +
                                                         path("f/a/img100.png") + " would share this mask"}));
    fs::remove(path("f/a/img100.jpg"));
    EXPECT_EQ(index_image_folder(path("f"), o).total_bytes(), 4 * (6 * 5 * 3 + 6 * 5)) << "masks count as resident bytes";
    // Masks belong to image folders only.
    FolderOptions fm;
    fm.mask_dir = path("m");
    EXPECT_TRUE(throws_with([&] { load_dataset("synthetic", "", Split::Train, fm); },
                            {"--masks", "image folders", "'synthetic'"}));
    TrainConfig c = lrp::test::tiny(path("run"));
    c.masks = path("m");
    c.augment = "isnet";
    EXPECT_TRUE(throws_with([&] { c.validate(); }, {"--masks reads segmentation masks", "'synthetic' has none"}));
}

TEST_F(FolderMasks, SplitLayoutMirrorsTheDataDir) {
    write_folder("d/train", "dm/train", 2, 6, 5);
    write_folder("d/test", "elsewhere", 1, 6, 5);
    FolderOptions o;
    o.mask_dir = path("dm");
    Dataset tr = load_dataset("folder", path("d"), Split::Train, o);
    EXPECT_EQ(tr.masks.dim(0), 4);
    EXPECT_TRUE(same_bits(tr.masks, load_image_folder(path("d/train"), [&] {
                              FolderOptions s = o;
                              s.mask_dir = path("dm/train");
                              return s;
                          }()).masks));
    EXPECT_EQ(index_dataset("folder", path("d"), Split::Train, o).mask_files[0], path("dm/train/a/img100.png"));
    EXPECT_TRUE(throws_with([&] { load_dataset("folder", path("d"), Split::Test, o); },
                            {path("dm/test"), "mask folder not found"}));
}

TEST_F(FolderMasks, StreamedMasksEqualResidentOnes) {
    write_folder("f", "m", 9, 10, 8);
    FolderOptions o;
    o.mask_dir = path("m");
    Dataset ds = load_image_folder(path("f"), o);
    FolderIndex ix = index_image_folder(path("f"), o);
    AugmentSettings aug;
    aug.crop_padding = 2;
    aug.flip = true;
    DeviceLoader dl(ds, Device::cpu(), 4, true, aug);
    StreamingLoader sl(ix, Device::cpu(), 4, true, aug, {2, 2});
    for (int e = 1; e <= 2; ++e) {
        dl.start_epoch(3, e);
        sl.start_epoch(3, e);
        for (int64_t i = 0; i < dl.batches_per_epoch(); ++i) {
            const BatchSource::Batch a = dl.batch(i), b = sl.batch(i);
            ASSERT_TRUE(a.allowed.defined());
            EXPECT_EQ(a.allowed.shape(), (Shape{4, 8, 10}));
            EXPECT_TRUE(same_bits(a.x, b.x)) << e << " " << i;
            EXPECT_TRUE(same_bits(a.allowed, b.allowed)) << e << " " << i;
        }
    }
    // Without masks the batches carry none.
    StreamingLoader plain(index_image_folder(path("f")), Device::cpu(), 4, true, aug, {2, 2});
    plain.start_epoch(3, 1);
    EXPECT_FALSE(plain.batch(0).allowed.defined());
}

TEST_F(FolderMasks, IsnetForegroundIsTheMasks) {
    // 16 training images of 12 x 12, batches of 8, no random crop: every image is trained on once per epoch,
    // so the foreground fraction ISNet reports is the masks' fraction, exactly (flips keep it).
    write_folder("d/train", "dm/train", 8, 12, 12);
    write_folder("d/test", "dm/test", 2, 12, 12);
    FolderOptions o;
    o.mask_dir = path("dm");
    const Dataset tr = load_dataset("folder", path("d"), Split::Train, o);
    double fg = 0;
    for (uint8_t v : tr.masks.to_vector<uint8_t>()) fg += v != 0;
    fg /= static_cast<double>(tr.masks.numel());
    ASSERT_GT(fg, 0.02);
    ASSERT_LT(fg, 0.5);

    TrainConfig c = folder_run("folder_masks_isnet", 8, 1);
    c.crop_padding = 0;
    c.flip = true;
    c.isnet_mask = "data";
    EXPECT_TRUE(throws_with([&] { c.validate(); }, {"--isnet-mask data", "--masks <dir>"}));
    c.isnet_mask = "auto";
    c.masks = path("dm");
    EXPECT_EQ(c.isnet_mask_spec(), "data");
    run_training(c);
    const std::vector<nlohmann::json> rows = lrp::test::rows(c.out_dir);
    ASSERT_FALSE(rows.empty());
    EXPECT_NEAR(rows.back().at("isnet_foreground_fraction").get<double>(), fg, 1e-6);
    const nlohmann::json cfg = nlohmann::json::parse(lrp::test::read_all(c.out_dir + "/config.json"));
    EXPECT_EQ(cfg.at("isnet-mask"), "data") << "auto is recorded as what it meant";
    EXPECT_EQ(cfg.at("masks"), path("dm"));
    // Streamed, the same run gives the same weights.
    TrainConfig s = c;
    s.out_dir = lrp::test::fresh_dir("folder_masks_isnet_streamed");
    s.stream = "on";
    run_training(s);
    EXPECT_TRUE(lrp::test::same_weights(c.out_dir, s.out_dir));
    // Without masks, auto is the threshold.
    TrainConfig t = c;
    t.masks.clear();
    EXPECT_EQ(t.isnet_mask_spec(), "threshold:0.02");
}

// Masks that are all background (an empty or inverted mask folder): the run trains, and each epoch says so.
TEST_F(FolderMasks, AllBackgroundMasksAreWarnedAbout) {
    write_folder("d/train", "dm/train", 4, 12, 12);
    write_folder("d/test", "dm/test", 2, 12, 12);
    for (const char* cls : {"a", "b"})
        for (int i = 0; i < 4; ++i)
            write_png("dm/train/" + std::string(cls) + "/img" + std::to_string(100 + i) + ".png", 12, 12, 1,
                      std::vector<uint8_t>(144, 0));
    for (const std::string method : {"isnet", "rrr"}) {
        TrainConfig c = folder_run("folder_masks_empty_" + method, 4, 1);
        c.augment = method;
        c.masks = path("dm");
        ::testing::internal::CaptureStderr();
        run_training(c);
        const std::string err = ::testing::internal::GetCapturedStderr();
        EXPECT_NE(err.find("epoch 1: no pixel of the training images was foreground"), std::string::npos) << err;
        EXPECT_EQ(lrp::test::rows(c.out_dir).back().at(method + "_foreground_fraction").get<double>(), 0.0);
    }
}

TEST_F(FolderMasks, AnyColourChannelAtAnyDepth) {
    // Four 3 x 2 images with masks of other encodings; expected foreground in the comment of each.
    for (int i = 0; i < 5; ++i) write_png("f/c/img" + std::to_string(i) + ".png", 3, 2, 3, noise(18, i));
    write_png("f/d/img9.png", 3, 2, 3, noise(18, 9));
    // 16-bit grey label map of 0 and 1 (an 8-bit conversion would lose the ones): 1 0 1 / 0 0 1.
    write("m/c/img0.png", png_bytes(3, 2, 1, 16, {1, 0, 1, 0, 0, 1}));
    // 8-bit RGB, dark colours count (grey conversion would round (0, 0, 1) to 0): 1 0 0 / 0 1 0.
    write("m/c/img1.png", png_bytes(3, 2, 3, 8, {0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0}));
    // 8-bit RGBA, opaque everywhere; the alpha channel is not foreground: 0 0 0 / 0 0 1.
    write("m/c/img2.png", png_bytes(3, 2, 4, 8, {0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255,
                                                 0, 0, 0, 255, 0, 0, 0, 255, 0, 9, 0, 255}));
    // 16-bit grey + alpha: 0 1 0 / 0 0 0.
    write("m/c/img3.png", png_bytes(3, 2, 2, 16, {0, 65535, 300, 65535, 0, 65535, 0, 65535, 0, 0, 0, 65535}));
    // Palette: index 0 black, 1 a dark blue, 2 white: 0 1 2 / 2 0 1.
    write("m/c/img4.png", png_bytes(3, 2, 1, 8, {0, 1, 2, 2, 0, 1}, {0, 0, 0, 0, 0, 3, 255, 255, 255}));
    write("m/d/img9.png", png_bytes(3, 2, 1, 8, {255, 255, 255, 255, 255, 255}));
    FolderOptions o;
    o.mask_dir = path("m");
    const Dataset d = load_image_folder(path("f"), o);
    const std::vector<uint8_t> want = {255, 0, 255, 0, 0, 255,  255, 0, 0, 0, 255, 0,  0, 0, 0, 0, 0, 255,
                                       0, 255, 0, 0, 0, 0,      0, 255, 255, 255, 0, 255,
                                       255, 255, 255, 255, 255, 255};
    EXPECT_EQ(d.masks.to_vector<uint8_t>(), want);
}

TEST_F(FolderMasks, FollowTheirImageThroughShuffleCropAndFlip) {
    // Grey images that are their own masks (0 / 255): whatever the loader does to an image (order, padding crop or
    // resized crop, flip), the batch's mask must be 1 exactly where the image's raw value is bright. A resized crop
    // samples the masks at one of the four pixels the image's bilinear value blends: where those are all bright
    // (255) the mask is 1, where all dark (0) it is 0.
    for (int i = 0; i < 12; ++i) {
        const std::vector<uint8_t> shape = disk(11, 9, 1 + (i * 5) % 9, 1 + (i * 3) % 7, 1.5 + (i % 4) * 0.8, 255);
        const std::string name = (i % 2 ? "a" : "b") + std::string("/img") + std::to_string(i) + ".png";
        write_png("f/" + name, 11, 9, 1, shape);
        write_png("m/" + name, 11, 9, 1, shape);
    }
    FolderOptions o;
    o.channels = 1;
    o.mask_dir = path("m");
    const Dataset ds = load_image_folder(path("f"), o);
    int64_t fg = 0, moved = 0;
    for (bool resized : {false, true}) {
        SCOPED_TRACE(resized ? "resized crop" : "padded crop");
        AugmentSettings aug;
        aug.crop_padding = resized ? 0 : 3;
        aug.resized.enabled = resized;
        aug.flip = true;
        const float bright = (1.f - ds.mean[0]) / ds.std[0], dark = (0.f - ds.mean[0]) / ds.std[0];
        int64_t blended = 0;
        DeviceLoader dl(ds, Device::cpu(), 5, true, aug);
        StreamingLoader sl(index_image_folder(path("f"), o), Device::cpu(), 5, true, aug, {2, 2});
        for (BatchSource* src : {static_cast<BatchSource*>(&dl), static_cast<BatchSource*>(&sl)}) {
            for (int e = 1; e <= 3; ++e) {
                src->start_epoch(17, e);
                for (int64_t b = 0; b < src->batches_per_epoch(); ++b) {
                    const BatchSource::Batch batch = src->batch(b);
                    const std::vector<float> x = batch.x.to_vector<float>(), m = batch.allowed.to_vector<float>();
                    ASSERT_EQ(x.size(), m.size());
                    for (size_t p = 0; p < x.size(); ++p) {
                        const float raw = x[p] * ds.std[0] + ds.mean[0];
                        if (resized && x[p] != bright && x[p] != dark) {
                            ++blended;
                            continue;
                        }
                        ASSERT_EQ(m[p], raw > 0.5f ? 1.f : 0.f) << "epoch " << e << " batch " << b << " pixel " << p;
                        fg += m[p] != 0.f;
                    }
                }
            }
            // The augmentation did move things: the batches differ from the images in file order.
            src->start_epoch(17, 1);
            const std::vector<float> first = src->batch(0).allowed.to_vector<float>();
            const std::vector<uint8_t> in_order = ds.masks.slice(0, 5).to_vector<uint8_t>();
            bool differs = false;
            for (size_t p = 0; p < first.size(); ++p) differs = differs || first[p] != (in_order[p] ? 1.f : 0.f);
            moved += differs;
        }
        EXPECT_EQ(blended > 0, resized);
    }
    EXPECT_GT(fg, 200);
    EXPECT_EQ(moved, 4);
}

TEST_F(FolderMasks, ResumeMayMoveTheMasksButNotDropThem) {
    write_folder("d/train", "dm/train", 4, 10, 10);
    write_folder("d/test", "dm/test", 1, 10, 10);
    TrainConfig c = folder_run("folder_masks_resume", 4, 2);
    c.masks = path("dm");
    c.isnet_mask = "threshold:0.3";  // inside the masks: without them the run would go on with another foreground
    c.stop_after_epoch = 1;
    run_training(c);
    c.stop_after_epoch = 0;
    c.resume = true;
    TrainConfig dropped = c;
    dropped.masks.clear();
    EXPECT_TRUE(throws_with([&] { run_training(dropped); },
                            {"--resume: settings differ", "masks: the run trained with masks (" + path("dm") + "), now without"}));
    fs::rename(path("dm"), path("moved"));
    c.masks = path("moved");
    EXPECT_EQ(run_training(c).epochs, 2);
}
