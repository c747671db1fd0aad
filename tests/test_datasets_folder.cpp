// Dataset readers, the rest: image folders (PNG/JPEG, resize + centre crop, errors), subset and
// take_stratified, synthetic data, the registry, and the real Fashion-MNIST test split when installed.
#include <zlib.h>

#include "datasets_test_util.h"
#include "lrp/train/checkpoint.h"
#include "lrp/train/config.h"
#include "lrp/train/trainer.h"

TEST_F(DatasetsCpu, ImageFolderPng) {
    // Classes "cat" and "dog" (sorted), nested files, ignored non-images and hidden folders.
    auto img = [](int seed) {
        std::vector<uint8_t> v(4 * 3 * 3);
        for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(seed * 40 + i * 5);
        return v;
    };
    write_png("f/dog/b.png", 4, 3, 3, img(2));
    write_png("f/dog/sub/a.PNG", 4, 3, 3, img(3));
    write_png("f/cat/z.png", 4, 3, 3, img(1));
    write("f/cat/notes.txt", "not an image");
    write_png("f/.hidden/x.png", 4, 3, 3, img(4));
    write("f/README", "top-level files are ignored");
    // Hidden entries inside a class folder: macOS's AppleDouble files, notebook checkpoint copies, dot files.
    write("f/cat/._z.png", "\x00\x05\x16\x07 AppleDouble, no PNG");
    write_png("f/cat/.ipynb_checkpoints/z-checkpoint.png", 4, 3, 3, img(1));
    write_png("f/dog/.b.png", 4, 3, 3, img(2));

    Dataset d = load_image_folder(path("f"));
    EXPECT_EQ(d.name, "folder:" + path("f"));
    EXPECT_EQ(d.num_classes, 2);
    EXPECT_EQ(d.class_names, (std::vector<std::string>{"cat", "dog"}));
    EXPECT_EQ(d.images.shape(), (Shape{3, 3, 3, 4}));
    EXPECT_EQ(d.labels.to_vector<int32_t>(), (std::vector<int32_t>{0, 1, 1}));
    // Order: cat/z.png, dog/b.png, dog/sub/a.PNG; interleaved HWC becomes planar CHW.
    std::vector<uint8_t> px = d.images.to_vector<uint8_t>();
    const int seeds[3] = {1, 2, 3};
    for (int i = 0; i < 3; ++i) {
        std::vector<uint8_t> src = img(seeds[i]);
        for (int c = 0; c < 3; ++c)
            for (int p = 0; p < 12; ++p) ASSERT_EQ(px[i * 36 + c * 12 + p], src[p * 3 + c]) << i << " " << c << " " << p;
    }
    // Mean/std computed per channel.
    ASSERT_EQ(d.mean.size(), 3u);
    for (int c = 0; c < 3; ++c) {
        double s = 0, s2 = 0;
        for (int i = 0; i < 3; ++i)
            for (int p = 0; p < 12; ++p) {
                double v = px[i * 36 + c * 12 + p] / 255.0;
                s += v, s2 += v * v;
            }
        EXPECT_NEAR(d.mean[c], s / 36, 1e-6);
        EXPECT_NEAR(d.std[c], std::sqrt(s2 / 36 - (s / 36) * (s / 36)), 1e-6);
    }
    // Greyscale conversion.
    FolderOptions g;
    g.channels = 1;
    EXPECT_EQ(load_image_folder(path("f"), g).images.shape(), (Shape{3, 1, 3, 4}));
}

TEST_F(DatasetsCpu, ImageFolderJpegAndResizeCrop) {
    // Mixed sizes and formats, made equal by Resize(4) + CenterCrop(4).
    write_png_fill("r/a/wide.png", 8, 6, 200);   // -> 5x4 -> 4x4
    write_png_fill("r/a/tall.png", 6, 8, 100);   // -> 4x5 -> 4x4
    std::vector<uint8_t> flat(10 * 10 * 3, 50);
    fs::create_directories(path("r/b"));
    ASSERT_NE(stbi_write_jpg(path("r/b/sq.jpg").c_str(), 10, 10, 3, flat.data(), 95), 0);
    FolderOptions o;
    o.resize = 4;
    o.crop = 4;
    Dataset d = load_image_folder(path("r"), o);
    EXPECT_EQ(d.images.shape(), (Shape{3, 3, 4, 4}));
    EXPECT_EQ(d.labels.to_vector<int32_t>(), (std::vector<int32_t>{0, 0, 1}));
    std::vector<uint8_t> px = d.images.to_vector<uint8_t>();
    // Constant images stay constant through the resize (tall.png sorts before wide.png).
    for (int p = 0; p < 48; ++p) EXPECT_EQ(px[p], 100);
    for (int p = 48; p < 96; ++p) EXPECT_EQ(px[p], 200);
    for (int p = 96; p < 144; ++p) EXPECT_NEAR(px[p], 50, 3);

    // Resize alone: the shorter side becomes 3, the longer int(3 * 8 / 6) = 4.
    FolderOptions ro;
    ro.resize = 3;
    write_png_fill("r2/a/wide.png", 8, 6, 10);
    write_png_fill("r2/a/wide2.png", 16, 12, 20);
    EXPECT_EQ(load_image_folder(path("r2"), ro).images.shape(), (Shape{2, 3, 3, 4}));
}

TEST_F(DatasetsCpu, ImageFolderCenterCropOffsets) {
    // Gradient grey image 7x7, value = x + 10 y; torchvision CenterCrop offsets are round((7 - c) / 2)
    // with Python's half-to-even rounding: c = 4 -> 2 (1.5), c = 2 -> 2 (2.5), c = 3 -> 2.
    std::vector<uint8_t> g(49);
    for (int y = 0; y < 7; ++y)
        for (int x = 0; x < 7; ++x) g[y * 7 + x] = static_cast<uint8_t>(x + 10 * y);
    write_png("c/k/g.png", 7, 7, 1, g);
    FolderOptions o;
    o.channels = 1;
    for (int c : {4, 2, 3, 7}) {
        o.crop = c;
        Dataset d = load_image_folder(path("c"), o);
        ASSERT_EQ(d.images.shape(), (Shape{1, 1, c, c}));
        const int off = c == 7 ? 0 : 2;
        std::vector<uint8_t> px = d.images.to_vector<uint8_t>();
        for (int y = 0; y < c; ++y)
            for (int x = 0; x < c; ++x) ASSERT_EQ(px[y * c + x], (x + off) + 10 * (y + off)) << c;
    }
    o.crop = 8;
    EXPECT_TRUE(throws_with([&] { load_image_folder(path("c"), o); },
                            {path("c/k/g.png"), "image is 7x7, smaller than the 8x8 crop"}));
}

TEST_F(DatasetsCpu, ImageFolderErrors) {
    EXPECT_TRUE(throws_with([&] { load_image_folder(path("none")); }, {path("none"), "image folder not found"}));
    fs::create_directories(path("empty"));
    EXPECT_TRUE(throws_with([&] { load_image_folder(path("empty")); },
                            {path("empty"), "no class subfolders", "one subfolder per class"}));
    write_png_fill("ec/a/x.png", 2, 2, 1);
    fs::create_directories(path("ec/b"));
    write("ec/b/readme.txt", "no images here");
    EXPECT_TRUE(throws_with([&] { load_image_folder(path("ec")); },
                            {path("ec/b"), "class folder 'b' holds no image files (.png .jpg .jpeg)"}));
    // Different sizes without resize/crop.
    write_png_fill("ws/a/x.png", 4, 4, 1);
    write_png_fill("ws/b/y.png", 5, 4, 1);
    EXPECT_TRUE(throws_with([&] { load_image_folder(path("ws")); },
                            {path("ws/b/y.png"), "image is 5x4, but " + path("ws/a/x.png") + " is 4x4",
                             "all images must end up the same size"}));
    // Unreadable images: not an image at all, and a truncated PNG.
    write_png_fill("u/a/ok.png", 4, 4, 1);
    write("u/a/zz.png", "this is not a PNG");
    EXPECT_TRUE(throws_with([&] { load_image_folder(path("u")); },
                            {path("u/a/zz.png"), "cannot decode image (not a PNG or JPEG file: it starts with 74 68 69"}));
    const std::string png = read_all(write_png_fill("t/a/ok.png", 16, 16, 7));
    write("t/a/cut.png", png.substr(0, png.size() / 2));
    EXPECT_TRUE(throws_with([&] { load_image_folder(path("t")); },
                            {path("t/a/cut.png"), "cannot decode image (truncated PNG (the file ends inside a chunk"}));
    // A header declaring 14000 x 14000 RGB pixels (a few hundred bytes could decode to 588 MB; stb_image itself
    // accepts up to 2^30 bytes): refused before decoding.
    std::string bomb = png;
    const size_t ihdr = bomb.find("IHDR");
    ASSERT_NE(ihdr, std::string::npos);
    for (size_t k : {ihdr + 4, ihdr + 8}) bomb.replace(k, 4, std::string("\x00\x00\x36\xb0", 4));  // 14000
    const uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(bomb.data() + ihdr), 17);  // "IHDR" + 13 bytes
    for (int i = 0; i < 4; ++i) bomb[ihdr + 17 + i] = static_cast<char>((crc >> (24 - 8 * i)) & 0xff);
    write("b/a/bomb.png", bomb);
    write_png_fill("b/a/ok.png", 16, 16, 7);
    EXPECT_TRUE(throws_with([&] { load_image_folder(path("b")); },
                            {path("b/a/bomb.png"), "declares 14000 x 14000 = 196000000 pixels", "decompression-bomb"}));
    // Bad options.
    FolderOptions bad;
    bad.channels = 5;
    EXPECT_TRUE(throws_with([&] { load_image_folder(path("u"), bad); }, {"channels 5"}));
}

// Directory links are followed once each: a link back to a parent neither repeats images nor pulls other
// classes' images in; a train/ without test/ or val/ is named instead of reading "train" as a class.
TEST_F(DatasetsCpu, ImageFolderLinksAndSplitLayout) {
    write_png_fill("loop/train/a/x.png", 4, 4, 10);
    write_png_fill("loop/train/b/y.png", 4, 4, 200);
    write_png_fill("elsewhere/z.png", 4, 4, 90);
    fs::create_directory_symlink("..", path("loop/train/a/up"));            // the train folder
    fs::create_directory_symlink(path("loop/train/a"), path("loop/train/a/self"));
    fs::create_directory_symlink(path("elsewhere"), path("loop/train/b/more"));  // a linked folder: followed
    Dataset d = load_image_folder(path("loop/train"));
    EXPECT_EQ(d.size(), 3);
    EXPECT_EQ(d.labels.to_vector<int32_t>(), (std::vector<int32_t>{0, 1, 1}));
    EXPECT_TRUE(throws_with([&] { load_dataset("folder", path("loop"), Split::Test, {}); },
                            {path("loop"), "has a train/ subfolder but no test/ or val/ one"}));
    EXPECT_EQ(load_dataset("folder", path("loop"), Split::Train, {}).size(), 3);
    // The other way round: a test/ (or val/) without train/ is named, not read as a class "test" of the training split.
    for (const char* split : {"test", "Val"}) {
        write_png_fill(std::string("notrain_") + split + "/a/x.png", 4, 4, 10);
        write_png_fill(std::string("notrain_") + split + "/b/y.png", 4, 4, 10);
        write_png_fill(std::string("notrain_") + split + "/" + split + "/a/x.png", 4, 4, 10);
        const std::string root = path(std::string("notrain_") + split);
        EXPECT_TRUE(throws_with([&] { load_dataset("folder", root, Split::Train, {}); },
                                {root, std::string("has a ") + split + "/ subfolder but no train/ one for the training split"}));
    }
    // A class folder that is itself a link, holding a link back to the split folder and one to a sibling
    // class; and a link to a folder inside its own class, listed next to the real one.
    write_png_fill("real/a/x.png", 4, 4, 10);
    write_png_fill("real/a/sub/w.png", 4, 4, 20);
    write_png_fill("linked/train/b/y.png", 4, 4, 200);
    fs::create_directory_symlink(path("real/a"), path("linked/train/a"));
    fs::create_directory_symlink(path("linked/train"), path("real/a/split"));
    fs::create_directory_symlink(path("linked/train/b"), path("real/a/sibling"));
    fs::create_directory_symlink(path("real/a/sub"), path("real/a/again"));
    Dataset l = load_image_folder(path("linked/train"));
    EXPECT_EQ(l.size(), 3);
    EXPECT_EQ(l.labels.to_vector<int32_t>(), (std::vector<int32_t>{0, 0, 1}));
    // Class folders that are links to the split folder, to another class, or to nothing: refused.
    write_png_fill("cl/a/x.png", 4, 4, 10);
    write_png_fill("cl/b/y.png", 4, 4, 200);
    fs::create_directory_symlink(path("cl"), path("cl/c"));
    EXPECT_TRUE(throws_with([&] { load_image_folder(path("cl")); }, {"class folder 'c' is a link to the image folder"}));
    fs::remove(path("cl/c"));
    fs::create_directory_symlink(path("cl/a"), path("cl/c"));
    EXPECT_TRUE(throws_with([&] { load_image_folder(path("cl")); }, {"class folders 'c' and 'a' are the same folder"}));
    fs::remove(path("cl/c"));
    fs::create_directory_symlink(path("cl/gone"), path("cl/c"));
    EXPECT_TRUE(throws_with([&] { load_image_folder(path("cl")); }, {"a link that points to nothing"}));
    fs::remove(path("cl/c"));
    // An image that is a link to nothing: refused, naming it (a dangling link of another kind is no image).
    fs::create_symlink(path("cl/a/gone.png"), path("cl/a/z.png"));
    EXPECT_TRUE(throws_with([&] { load_image_folder(path("cl")); },
                            {path("cl/a/z.png"), "a link that points to nothing (an image that was moved"}));
    fs::remove(path("cl/a/z.png"));
    fs::create_symlink(path("cl/a/gone.txt"), path("cl/a/notes.txt"));
    EXPECT_EQ(load_image_folder(path("cl")).size(), 2);
    // Split folders in any case (Train/ and Test/, as some downloads name them); two spellings of one: refused.
    write_png_fill("caps/Train/a/x.png", 4, 4, 10);
    write_png_fill("caps/Train/b/y.png", 4, 4, 200);
    write_png_fill("caps/TEST/a/x.png", 4, 4, 10);
    write_png_fill("caps/TEST/b/y.png", 4, 4, 200);
    const Dataset ct = load_dataset("folder", path("caps"), Split::Train, {});
    EXPECT_EQ(ct.class_names, (std::vector<std::string>{"a", "b"})) << "Train/ and TEST/ are the splits, not classes";
    EXPECT_EQ(load_dataset("folder", path("caps"), Split::Test, {}).name, "folder:" + path("caps/TEST"));
    write_png_fill("caps/val/a/x.png", 4, 4, 10);  // test/ and val/: test/ is the test split (a warning names val/)
    write_png_fill("caps/val/b/y.png", 4, 4, 200);
    EXPECT_EQ(load_dataset("folder", path("caps"), Split::Test, {}).name, "folder:" + path("caps/TEST"));
    write_png_fill("caps/train/a/x.png", 4, 4, 10);
    EXPECT_TRUE(throws_with([&] { load_dataset("folder", path("caps"), Split::Train, {}); },
                            {"has both ", "/ and ", "which is the train split?"}));
}

// ---------------------------------------------------------------------------- subset / stratified

TEST_F(DatasetsCpu, SubsetCopiesRows) {
    Dataset d = tagged({0, 1, 2, 0, 1, 2, 0}, 3);
    Dataset s = d.subset(2, 5);
    EXPECT_EQ(s.size(), 3);
    EXPECT_EQ(s.images.shape(), (Shape{3, 1, 2, 2}));
    EXPECT_EQ(s.labels.to_vector<int32_t>(), (std::vector<int32_t>{2, 0, 1}));
    for (int i = 0; i < 3; ++i) EXPECT_EQ(tag_of(s, i), i + 2);
    EXPECT_FALSE(s.images.shares_storage_with(d.images));
    EXPECT_EQ(s.name, d.name);
    EXPECT_EQ(s.num_classes, 3);
    EXPECT_EQ(s.mean, d.mean);
    EXPECT_EQ(d.subset(3, 3).size(), 0);
    EXPECT_TRUE(throws_with([&] { d.subset(5, 8); }, {"subset", "out of range"}));
    EXPECT_TRUE(throws_with([&] { d.subset(3, 2); }, {"subset", "out of range"}));
}

TEST_F(DatasetsCpu, EvenlySpacedRowsCoverTheDataset) {
    EXPECT_EQ(evenly_spaced_rows(10, 4, "d"), (std::vector<int64_t>{0, 2, 5, 7}));
    EXPECT_EQ(evenly_spaced_rows(3, 3, "d"), (std::vector<int64_t>{0, 1, 2}));
    EXPECT_EQ(evenly_spaced_rows(7, 1, "d"), (std::vector<int64_t>{0}));
    Dataset d = tagged({0, 0, 0, 1, 1, 1, 2, 2, 2}, 3);  // sorted by class, as a folder's files are
    Dataset s = d.evenly_spaced(3);
    EXPECT_EQ(s.labels.to_vector<int32_t>(), (std::vector<int32_t>{0, 1, 2}));
    for (int i = 0; i < 3; ++i) EXPECT_EQ(tag_of(s, i), 3 * i);
    EXPECT_TRUE(throws_with([&] { d.evenly_spaced(10); }, {"evenly_spaced", "10", "[1, 9]"}));
    EXPECT_TRUE(throws_with([&] { d.evenly_spaced(0); }, {"evenly_spaced"}));
}

TEST_F(DatasetsCpu, TakeStratifiedBalancedAndDeterministic) {
    std::vector<int32_t> lab;
    for (int i = 0; i < 300; ++i) lab.push_back((i * 7) % 3);  // 100 per class
    Dataset d = tagged(lab, 3);
    Dataset a = d.take_stratified(31, 5), b = d.take_stratified(31, 5), c = d.take_stratified(31, 6);
    EXPECT_EQ(a.images.to_vector<uint8_t>(), b.images.to_vector<uint8_t>());
    EXPECT_EQ(a.labels.to_vector<int32_t>(), b.labels.to_vector<int32_t>());
    EXPECT_NE(a.images.to_vector<uint8_t>(), c.images.to_vector<uint8_t>());
    std::map<int, int> per;
    std::set<int64_t> tags;
    for (int64_t i = 0; i < a.size(); ++i) {
        const int64_t t = tag_of(a, i);
        per[a.labels.data<int32_t>()[i]]++;
        EXPECT_EQ(a.labels.data<int32_t>()[i], lab[t]);  // the label travels with its image
        if (i > 0) {
            EXPECT_LT(tag_of(a, i - 1), t);  // original order kept, no duplicates
        }
        tags.insert(t);
    }
    EXPECT_EQ(tags.size(), 31u);
    EXPECT_EQ(per[0], 11);  // 31 = 11 + 10 + 10, the extra one to the lowest class
    EXPECT_EQ(per[1], 10);
    EXPECT_EQ(per[2], 10);
    EXPECT_EQ(d.take_stratified(300, 1).labels.to_vector<int32_t>(), lab);

    // A class with too few samples gives all it has; the others share the rest.
    std::vector<int32_t> skew(50, 0);
    for (int i = 0; i < 30; ++i) skew.push_back(1);
    skew.push_back(2);
    Dataset s = tagged(skew, 4).take_stratified(21, 9);  // class 3 is empty
    std::vector<int32_t> sl = s.labels.to_vector<int32_t>();
    EXPECT_EQ(std::count(sl.begin(), sl.end(), 2), 1);
    EXPECT_EQ(std::count(sl.begin(), sl.end(), 0), 10);
    EXPECT_EQ(std::count(sl.begin(), sl.end(), 1), 10);

    EXPECT_TRUE(throws_with([&] { d.take_stratified(301, 1); }, {"take_stratified", "301"}));
    EXPECT_TRUE(throws_with([&] { d.take_stratified(0, 1); }, {"take_stratified"}));
    EXPECT_TRUE(throws_with([&] { tagged({0, 5}, 3).take_stratified(1, 1); }, {"label 5 at index 1"}));
}

// --------------------------------------------------------------------------------------- synthetic

TEST_F(DatasetsCpu, SyntheticDeterministicBalancedLearnable) {
    Dataset a = make_synthetic(200, 3, 8, 8, 4, 7), b = make_synthetic(200, 3, 8, 8, 4, 7);
    Dataset c = make_synthetic(200, 3, 8, 8, 4, 8);
    EXPECT_EQ(a.name, "synthetic");
    EXPECT_EQ(a.images.shape(), (Shape{200, 3, 8, 8}));
    EXPECT_EQ(a.images.to_vector<uint8_t>(), b.images.to_vector<uint8_t>());
    EXPECT_EQ(a.labels.to_vector<int32_t>(), b.labels.to_vector<int32_t>());
    EXPECT_NE(a.images.to_vector<uint8_t>(), c.images.to_vector<uint8_t>());
    EXPECT_NE(a.labels.to_vector<int32_t>(), c.labels.to_vector<int32_t>());
    std::vector<int32_t> la = a.labels.to_vector<int32_t>();
    for (int k = 0; k < 4; ++k) EXPECT_EQ(std::count(la.begin(), la.end(), k), 50);
    EXPECT_EQ(a.num_classes, 4);
    EXPECT_EQ(a.class_names.size(), 4u);
    ASSERT_EQ(a.mean.size(), 3u);
    for (int ch = 0; ch < 3; ++ch) {
        EXPECT_GT(a.mean[ch], 0.1f);
        EXPECT_LT(a.mean[ch], 0.9f);
        EXPECT_GT(a.std[ch], 0.05f);
    }
    // Learnable: a nearest-class-mean classifier fit on one seed classifies another seed's samples.
    Dataset tr = make_synthetic(400, 3, 8, 8, 4, 1), te = make_synthetic(200, 3, 8, 8, 4, 2);
    const int64_t chw = 3 * 64;
    std::vector<double> centre(4 * chw, 0.0);
    std::vector<int> cnt(4, 0);
    const uint8_t* tp = tr.images.data<uint8_t>();
    for (int64_t i = 0; i < tr.size(); ++i) {
        const int k = tr.labels.data<int32_t>()[i];
        cnt[k]++;
        for (int64_t j = 0; j < chw; ++j) centre[k * chw + j] += tp[i * chw + j];
    }
    for (int k = 0; k < 4; ++k)
        for (int64_t j = 0; j < chw; ++j) centre[k * chw + j] /= cnt[k];
    int correct = 0;
    const uint8_t* ep = te.images.data<uint8_t>();
    for (int64_t i = 0; i < te.size(); ++i) {
        int best = -1;
        double best_d = 1e300;
        for (int k = 0; k < 4; ++k) {
            double dist = 0;
            for (int64_t j = 0; j < chw; ++j) dist += std::pow(ep[i * chw + j] - centre[k * chw + j], 2);
            if (dist < best_d) best_d = dist, best = k;
        }
        correct += best == te.labels.data<int32_t>()[i];
    }
    EXPECT_GE(correct, 190) << "of 200";
    EXPECT_TRUE(throws_with([] { make_synthetic(0, 3, 8, 8, 4, 1); }, {"make_synthetic"}));
}

// ---------------------------------------------------------------------------------------- registry

TEST_F(DatasetsCpu, Registry) {
    std::vector<std::string> known = known_datasets();
    for (const char* n : {"fashion-mnist", "mnist", "cifar10", "cifar100", "cifar100-coarse", "folder", "synthetic"})
        EXPECT_NE(std::find(known.begin(), known.end(), n), known.end()) << n;
    EXPECT_TRUE(throws_with([] { load_dataset("imagenet21k", "", Split::Train); },
                            {"unknown dataset 'imagenet21k'", "fashion-mnist", "cifar100-coarse", "synthetic"}));
    for (const char* n : {"mnist", "cifar10", "cifar100", "cifar100-coarse", "folder"})
        EXPECT_TRUE(throws_with([&] { load_dataset(n, "", Split::Train); }, {n, "--data-dir"})) << n;

    Dataset s = load_dataset("synthetic", "", Split::Test);
    EXPECT_EQ(s.images.shape(), (Shape{500, 3, 32, 32}));
    EXPECT_EQ(s.num_classes, 10);

    write("c100/train.bin", cifar_records({{3, 99}, {19, 0}}, 0));
    EXPECT_EQ(load_dataset("cifar100-coarse", path("c100"), Split::Train).labels.to_vector<int32_t>(),
              (std::vector<int32_t>{3, 19}));
    EXPECT_EQ(load_dataset("cifar100", path("c100"), Split::Train).labels.to_vector<int32_t>(),
              (std::vector<int32_t>{99, 0}));
    write("c10/test_batch.bin", cifar_records({{4}}, 0));
    EXPECT_EQ(load_dataset("cifar10", path("c10"), Split::Test).size(), 1);
    write_idx_split("m", "t10k", 20, 4, 4, true);
    EXPECT_EQ(load_dataset("mnist", path("m"), Split::Test).size(), 20);

    // Folder: train/ and val/ subfolders pick the split; a plain folder serves both.
    write_png_fill("fo/train/a/1.png", 4, 4, 1);
    write_png_fill("fo/train/b/1.png", 4, 4, 2);
    write_png_fill("fo/train/b/2.png", 4, 4, 3);
    write_png_fill("fo/val/a/1.png", 6, 6, 4);
    FolderOptions o;
    o.crop = 4;
    EXPECT_EQ(load_dataset("folder", path("fo"), Split::Train, o).size(), 3);
    Dataset v = load_dataset("folder", path("fo"), Split::Test, o);
    EXPECT_EQ(v.size(), 1);
    EXPECT_EQ(v.images.shape(), (Shape{1, 3, 4, 4}));
    EXPECT_EQ(load_dataset("folder", path("fo/train"), Split::Test).size(), 3);
}

TEST_F(DatasetsCpu, RealFashionMnistTestSplit) {
    const std::string dir = "/usr/share/datasets/fashion-mnist";
    if (!fs::is_directory(dir)) GTEST_SKIP() << dir << " not installed (scripts/install-deps.sh --with-data)";
    Dataset d = load_dataset("fashion-mnist", "", Split::Test);
    EXPECT_EQ(d.name, "fashion-mnist");
    EXPECT_EQ(d.images.shape(), (Shape{10000, 1, 28, 28}));
    EXPECT_EQ(d.num_classes, 10);
    std::vector<int32_t> lab = d.labels.to_vector<int32_t>();
    ASSERT_EQ(lab.size(), 10000u);
    for (int32_t l : lab) ASSERT_TRUE(l >= 0 && l < 10) << l;
    for (int k = 0; k < 10; ++k) EXPECT_EQ(std::count(lab.begin(), lab.end(), k), 1000) << k;
    // The published constants are close to this split's own statistics.
    std::vector<float> m, s;
    compute_mean_std(d.images, m, s);
    EXPECT_NEAR(m[0], d.mean[0], 0.01);
    EXPECT_NEAR(s[0], d.std[0], 0.01);
    // A stratified sample of the real data is exactly balanced.
    std::vector<int32_t> sl = d.take_stratified(100, 3).labels.to_vector<int32_t>();
    for (int k = 0; k < 10; ++k) EXPECT_EQ(std::count(sl.begin(), sl.end(), k), 10) << k;
}


// A one-epoch CPU training run of a width-2 ResNet-18 on an image folder.
static lrp::train::TrainConfig folder_run(const std::string& data_dir, const std::string& out) {
    lrp::train::TrainConfig c;
    c.dataset = "folder";
    c.device = "cpu";
    c.epochs = 1;
    c.batch_size = 2;
    c.width = 2;
    c.data_dir = data_dir;
    c.out_dir = out;
    return c;
}

// `lrpcu train` on an image folder whose test split names other classes (the labels would index other
// outputs) or holds images of another size: an error naming both splits, before any training.
TEST_F(DatasetsCpu, TrainingRefusesATestSplitThatDisagrees) {
    for (const char* d : {"cls/train/a", "cls/train/b", "cls/test/a", "cls/test/c", "size/train/a", "size/train/b",
                          "size/test/a", "size/test/b"})
        for (int i = 0; i < 2; ++i) {
            const bool small = std::string(d).rfind("size/test", 0) == 0;
            write_png_fill(std::string(d) + "/" + std::to_string(i) + ".png", small ? 6 : 8, small ? 6 : 8,
                           static_cast<uint8_t>(40 * i + 20));
        }
    lrp::train::TrainConfig c = folder_run(path("cls"), path("out-cls"));
    EXPECT_TRUE(throws_with([&] { lrp::train::run_training(c); },
                            {"test split's 2 classes [a, c]", "training split's 2 classes [a, b]"}));
    c.data_dir = path("size");
    c.out_dir = path("out-size");
    EXPECT_TRUE(throws_with([&] { lrp::train::run_training(c); }, {"test split's images are 3x6x6", "3x8x8"}));
    c.resize = 8;  // the folder option that makes them agree
    c.crop = 8;
    c.out_dir = path("out-size-resized");
    EXPECT_NO_THROW(lrp::train::run_training(c));
    // The checkpoint remembers the classes, so evaluating it on other ones can be refused.
    const auto st = lrp::train::read_checkpoint_state(path("out-size-resized/checkpoint.safetensors"));
    EXPECT_EQ(st.class_names, (std::vector<std::string>{"a", "b"}));
    EXPECT_NO_THROW(lrp::train::check_class_names(st.class_names, {"a", "b"}, "w", "the data"));
    EXPECT_NO_THROW(lrp::train::check_class_names({}, {"a", "c"}, "w", "the data"));  // unknown: passes
    EXPECT_TRUE(throws_with([&] { lrp::train::check_class_names(st.class_names, {"a", "c"}, "w.st", "the data"); },
                            {"w.st was trained on the classes [a, b], but the data has [a, c]"}));
}

// A folder of one class cannot train a classifier, and a crop padding as large as the images cannot crop:
// both refused before training, naming the folder or the flag.
TEST_F(DatasetsCpu, TrainingRefusesASingleClassAndAnOversizedCropPadding) {
    for (int i = 0; i < 4; ++i) write_png_fill("one/train/a/" + std::to_string(i) + ".png", 8, 8, 30 * i + 5);
    for (int i = 0; i < 2; ++i) write_png_fill("one/test/a/" + std::to_string(i) + ".png", 8, 8, 30 * i + 9);
    lrp::train::TrainConfig c = folder_run(path("one"), path("out-one"));
    EXPECT_TRUE(throws_with([&] { lrp::train::run_training(c); }, {"has 1 class [a]", "at least 2"}));
    for (const char* s : {"train", "test"})
        for (int i = 0; i < 2; ++i) write_png_fill(std::string("one/") + s + "/b/" + std::to_string(i) + ".png", 8, 8, 99);
    c.crop_padding = 8;
    c.out_dir = path("out-pad");
    EXPECT_TRUE(throws_with([&] { lrp::train::run_training(c); }, {"--crop-padding 8 must be smaller than the 8 x 8"}));
}

// A constant channel gets std 1 (centred, not divided by zero).
TEST_F(DatasetsCpu, ConstantChannelGetsUnitStd) {
    Tensor im = Tensor::from_vector(std::vector<uint8_t>{0, 255, 0, 255, 51, 51, 51, 51}, {1, 2, 2, 2});
    std::vector<float> m, s;
    compute_mean_std(im, m, s);
    EXPECT_FLOAT_EQ(m[0], 0.5f);
    EXPECT_FLOAT_EQ(s[0], 0.5f);
    EXPECT_FLOAT_EQ(m[1], 0.2f);
    EXPECT_FLOAT_EQ(s[1], 1.f);
}

// --resume on changed data: inside an epoch it needs the same images (the epoch's order depends on them);
// at an epoch boundary it warns and keeps the normalisation the run recorded.
TEST_F(DatasetsCpu, ResumeOnChangedDataKeepsTheNormalization) {
    for (const char* d : {"rs/train/a", "rs/train/b", "rs/test/a", "rs/test/b"})
        for (int i = 0; i < (std::string(d).find("train") != std::string::npos ? 6 : 2); ++i)
            write_png_fill(std::string(d) + "/" + std::to_string(i) + ".png", 8, 8, static_cast<uint8_t>(20 * i + 7));
    lrp::train::TrainConfig c = folder_run(path("rs"), path("out-rs"));
    c.epochs = 2;
    c.stop_after_step = 2;  // inside epoch 1 (6 steps)
    lrp::train::run_training(c);
    const auto st0 = lrp::train::read_checkpoint_state(path("out-rs/checkpoint.safetensors"));
    EXPECT_EQ(st0.train_images, 12);
    ASSERT_EQ(st0.partial.batches, 2);
    fs::remove(path("rs/train/a/0.png"));
    c.resume = true;
    c.stop_after_step = 0;
    c.stop_after_epoch = 1;
    EXPECT_TRUE(throws_with([&] { lrp::train::run_training(c); },
                            {"the training split has 11 images now, the run had 12", "same images"}));
    write_png_fill("rs/train/a/0.png", 8, 8, 7);  // restored: epoch 1 finishes
    EXPECT_EQ(lrp::train::run_training(c).epochs, 1);
    write_png_fill("rs/train/a/9.png", 8, 8, 250);  // a bright extra image, at an epoch boundary
    c.stop_after_epoch = 0;
    EXPECT_EQ(lrp::train::run_training(c).epochs, 2);
    const auto st2 = lrp::train::read_checkpoint_state(path("out-rs/checkpoint.safetensors"));
    EXPECT_EQ(st2.mean, st0.mean) << "the normalisation changed with the data";
    EXPECT_EQ(st2.train_images, 13);
}
