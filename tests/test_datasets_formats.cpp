// Dataset readers, file formats: idx (plain and gzipped, MNIST-like directories) and CIFAR-10/100 binary
// batches written by the tests, an error naming the file and the problem for every corrupt input, and
// truncated / mutated files that must load or throw lrp::Error.
#include <csignal>

#include "datasets_test_util.h"

TEST_F(DatasetsCpu, IdxPlain) {
    const std::string im = write("a/images", idx3(5, 3, 4, pixels(60)));
    const std::string lb = write("a/labels", idx1({3, 0, 9, 1, 3}));
    Dataset d = load_idx(im, lb, "mnist");
    EXPECT_EQ(d.name, "mnist");
    EXPECT_EQ(d.images.shape(), (Shape{5, 1, 3, 4}));
    EXPECT_EQ(d.images.dtype(), DType::U8);
    EXPECT_TRUE(d.images.device().is_cpu());
    EXPECT_EQ(d.size(), 5);
    EXPECT_EQ(d.channels(), 1);
    EXPECT_EQ(d.height(), 3);
    EXPECT_EQ(d.width(), 4);
    std::vector<uint8_t> px = d.images.to_vector<uint8_t>();
    for (int64_t i = 0; i < 60; ++i) ASSERT_EQ(px[i], pix(i)) << i;
    EXPECT_EQ(d.labels.dtype(), DType::I32);
    EXPECT_EQ(d.labels.to_vector<int32_t>(), (std::vector<int32_t>{3, 0, 9, 1, 3}));
    EXPECT_EQ(d.num_classes, 10);
    ASSERT_EQ(d.class_names.size(), 10u);
    EXPECT_EQ(d.class_names[7], "7");
    EXPECT_EQ(d.mean, std::vector<float>{0.1307f});
    EXPECT_EQ(d.std, std::vector<float>{0.3081f});

    Dataset f = load_idx(im, lb, "fashion-mnist");
    EXPECT_EQ(f.class_names[0], "T-shirt/top");
    EXPECT_EQ(f.class_names[9], "Ankle boot");
    EXPECT_EQ(f.mean, std::vector<float>{0.2860f});
    EXPECT_EQ(f.std, std::vector<float>{0.3530f});

    // Another name: statistics computed from the pixels.
    Dataset o = load_idx(im, lb, "my-idx");
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < 60; ++i) s += pix(i) / 255.0, s2 += (pix(i) / 255.0) * (pix(i) / 255.0);
    const double m = s / 60, sd = std::sqrt(s2 / 60 - m * m);
    ASSERT_EQ(o.mean.size(), 1u);
    EXPECT_NEAR(o.mean[0], m, 1e-6);
    EXPECT_NEAR(o.std[0], sd, 1e-6);
}

TEST_F(DatasetsCpu, IdxGzipDetectedByMagicNotExtension) {
    const std::string content = idx3(4, 2, 3, pixels(24));
    const std::string plain = write("p/img", content);
    const std::string gz_no_ext = write_gz("g/img", content);  // gzip without .gz
    const std::string plain_gz_ext = write("x/img.gz", content);  // plain with .gz
    const std::string labels = write_gz("g/lab.gz", idx1({1, 2, 3, 4}));
    const auto ref = load_idx(plain, labels, "t").images.to_vector<uint8_t>();
    EXPECT_EQ(load_idx(gz_no_ext, labels, "t").images.to_vector<uint8_t>(), ref);
    EXPECT_EQ(load_idx(plain_gz_ext, labels, "t").images.to_vector<uint8_t>(), ref);
    EXPECT_EQ(load_idx(plain, labels, "t").labels.to_vector<int32_t>(), (std::vector<int32_t>{1, 2, 3, 4}));
}

TEST_F(DatasetsCpu, MnistLikeDirectoryPlainAndGzip) {
    write_idx_split("plain", "train", 30, 5, 6, false);
    write_idx_split("plain", "t10k", 12, 5, 6, false);
    write_idx_split("gz", "train", 30, 5, 6, true);
    write_idx_split("gz", "t10k", 12, 5, 6, true);
    for (const char* sub : {"plain", "gz"}) {
        Dataset tr = load_mnist_like(path(sub), Split::Train, "fashion-mnist");
        Dataset te = load_mnist_like(path(sub), Split::Test, "fashion-mnist");
        EXPECT_EQ(tr.images.shape(), (Shape{30, 1, 5, 6})) << sub;
        EXPECT_EQ(te.images.shape(), (Shape{12, 1, 5, 6})) << sub;
        EXPECT_EQ(te.labels.to_vector<int32_t>()[11], 1);
        EXPECT_EQ(tr.images.to_vector<uint8_t>()[899], pix(899));
    }
    // Missing directory, missing split files.
    EXPECT_TRUE(throws_with([&] { load_mnist_like(path("nope"), Split::Train, "fashion-mnist"); },
                            {path("nope"), "data directory not found", "dataset-fashion-mnist",
                             "github.com/zalandoresearch/fashion-mnist"}));
    write_idx_split("half", "train", 3, 2, 2, false);
    EXPECT_TRUE(throws_with([&] { load_mnist_like(path("half"), Split::Test, "mnist"); },
                            {path("half") + "/t10k-images-idx3-ubyte", "file not found", "test split",
                             "yann.lecun.com/exdb/mnist"}));
}

// A file of another kind (wrong magic) is refused on its header, without reading on: here 1 TiB (sparse), which the
// loader tried to hold in memory before it checked the magic ("not enough memory to read the file").
TEST_F(DatasetsCpu, IdxOfAnotherKindIsRefusedOnItsHeader) {
    const std::string good_lb = write("good_lb", idx1({0, 1, 2}));
    const std::string huge = write("huge", idx3(3, 2, 2, pixels(12), 0x804));
    std::error_code ec;
    void (*was)(int) = std::signal(SIGXFSZ, SIG_IGN);  // under a file-size limit: an error below, not a kill
    fs::resize_file(huge, uint64_t{1} << 40, ec);
    std::signal(SIGXFSZ, was);
    if (ec) GTEST_SKIP() << "no sparse 1 TiB file can be made here: " << ec.message();
    EXPECT_TRUE(throws_with([&] { load_idx(huge, good_lb, "fashion-mnist"); }, {huge, "bad magic 0x00000804"}));
    fs::remove(huge);
}

TEST_F(DatasetsCpu, IdxErrors) {
    const std::string good_im = write("good_im", idx3(3, 2, 2, pixels(12)));
    const std::string good_lb = write("good_lb", idx1({0, 1, 2}));
    const std::string fm_hint = "install the Debian package dataset-fashion-mnist (scripts/install-deps.sh --with-data)";

    // Missing file.
    EXPECT_TRUE(throws_with([&] { load_idx(path("missing"), good_lb, "fashion-mnist"); },
                            {path("missing"), "file not found", fm_hint}));
    EXPECT_TRUE(throws_with([&] { load_idx(good_im, path("missing_lb"), "fashion-mnist"); },
                            {path("missing_lb"), "file not found", fm_hint}));
    // A directory where a file is expected.
    fs::create_directories(path("adir"));
    EXPECT_TRUE(throws_with([&] { load_idx(path("adir"), good_lb, "x"); }, {path("adir"), "is a directory"}));
    // Bad magic (images and labels).
    const std::string bm = write("bm", idx3(3, 2, 2, pixels(12), 0x804));
    EXPECT_TRUE(throws_with([&] { load_idx(bm, good_lb, "fashion-mnist"); },
                            {bm, "bad magic 0x00000804, expected 0x00000803 (idx3 images)", fm_hint}));
    const std::string bml = write("bml", idx1({0, 1, 2}, 0x803));
    EXPECT_TRUE(throws_with([&] { load_idx(good_im, bml, "mnist"); },
                            {bml, "bad magic 0x00000803, expected 0x00000801 (idx1 labels)", "yann.lecun.com"}));
    // Truncated: the header promises 10000 28x28 images, 1000 bytes present.
    const std::string tr = write("tr", idx3(10000, 28, 28, pixels(1000 - 16)));
    EXPECT_TRUE(throws_with([&] { load_idx(tr, good_lb, "fashion-mnist"); },
                            {tr, "truncated: 7840016 bytes expected, 1000 found", fm_hint}));
    const std::string hdr = write("hdr", be32(0x803) + be32(3));
    EXPECT_TRUE(throws_with([&] { load_idx(hdr, good_lb, "x"); }, {hdr, "truncated: 16 bytes expected, 8 found"}));
    const std::string trl = write("trl", be32(0x801) + be32(3) + std::string(2, '\1'));
    EXPECT_TRUE(throws_with([&] { load_idx(good_im, trl, "x"); }, {trl, "truncated: 11 bytes expected, 10 found"}));
    // Trailing bytes are an error too (file sizes must be exact).
    const std::string tail = write("tail", idx3(3, 2, 2, pixels(13)));
    EXPECT_TRUE(throws_with([&] { load_idx(tail, good_lb, "x"); },
                            {tail, "size mismatch: 28 bytes expected, more found"}));
    // A header whose declared size overflows 64 bits: named as implausible, not read as "truncated".
    const std::string huge = write("huge", idx3(0x80000000u, 0x80000000u, 0x80000000u, pixels(12)));
    EXPECT_TRUE(throws_with([&] { load_idx(huge, good_lb, "x"); }, {huge, "implausible image size"}));
    // An empty file; a gzip bomb (3 images of 2x2 declared, 64 MiB inflated) is read only to the declared size.
    const std::string empty = write("empty", "");
    EXPECT_TRUE(throws_with([&] { load_idx(empty, good_lb, "x"); }, {empty, "truncated: 16 bytes expected, 0 found"}));
    const std::string bomb = write_gz("bomb.gz", idx3(3, 2, 2, pixels(12)) + std::string(64 << 20, '\0'));
    EXPECT_TRUE(throws_with([&] { load_idx(bomb, good_lb, "x"); },
                            {bomb, "size mismatch: 28 bytes expected, more found (decompressed)"}));
    // A gzip file whose header declares far more than its compressed bytes can inflate to (64 images of
    // 65536 x 65536 in a few kB): refused before anything is inflated, not read to the end and called truncated.
    const std::string liar = write_gz("liar.gz", idx3(64, 65536, 65536, "") + std::string(4 << 20, '\0'));
    EXPECT_TRUE(throws_with([&] { load_idx(liar, good_lb, "x"); },
                            {liar, "the header declares 64 images of 65536x65536 (274877906944 bytes), more than the",
                             "bytes of this gzip file can inflate to"}));
    // Count mismatch.
    const std::string four = write("four", idx1({0, 1, 2, 3}));
    EXPECT_TRUE(throws_with([&] { load_idx(good_im, four, "x"); },
                            {four, "count mismatch: 4 labels, but " + good_im + " holds 3 images"}));
    // Label out of range.
    std::vector<uint8_t> bad(8, 1);
    bad[5] = 12;
    const std::string bl = write("bl", idx1(bad));
    const std::string im8 = write("im8", idx3(8, 2, 2, pixels(32)));
    EXPECT_TRUE(throws_with([&] { load_idx(im8, bl, "mnist"); },
                            {bl, "label 12 at index 5 out of range [0, 10)", "yann.lecun.com/exdb/mnist"}));
    // Empty header.
    const std::string zero = write("zero", idx3(0, 28, 28, ""));
    EXPECT_TRUE(throws_with([&] { load_idx(zero, good_lb, "x"); }, {zero, "empty"}));
    // Gzip: truncated stream, corrupt stream, truncated content inside a valid stream.
    const std::string gz = write_gz("full.gz", idx3(50, 10, 10, pixels(5000)));
    const std::string gzbytes = read_all(gz);
    const std::string gzcut = write("cut.gz", gzbytes.substr(0, gzbytes.size() / 2));
    EXPECT_TRUE(throws_with([&] { load_idx(gzcut, good_lb, "fashion-mnist"); },
                            {gzcut, "truncated gzip stream", fm_hint}));
    std::string corrupt = gzbytes;
    for (size_t i = 10; i + 8 < corrupt.size(); ++i) corrupt[i] = '\xff';
    const std::string gzbad = write("bad.gz", corrupt);
    EXPECT_TRUE(throws_with([&] { load_idx(gzbad, good_lb, "x"); }, {gzbad, "gzip stream"}));
    const std::string gzshort = write_gz("short.gz", idx3(3, 2, 2, pixels(5)));
    EXPECT_TRUE(throws_with([&] { load_idx(gzshort, good_lb, "x"); },
                            {gzshort, "truncated: 28 bytes expected, 21 found (decompressed)"}));
}

// -------------------------------------------------------------------------------------------- CIFAR

TEST_F(DatasetsCpu, Cifar10SeveralBatchesAndTest) {
    // Five train batches of 3, 2, 4, 1, 2 records in the archive's subdirectory, and a test batch.
    const std::vector<int> sizes = {3, 2, 4, 1, 2};
    std::vector<int32_t> want_labels;
    int64_t rec = 0;
    for (int b = 0; b < 5; ++b) {
        std::vector<std::vector<uint8_t>> lab;
        for (int i = 0; i < sizes[b]; ++i) {
            lab.push_back({static_cast<uint8_t>((rec + i) * 3 % 10)});
            want_labels.push_back(static_cast<int32_t>((rec + i) * 3 % 10));
        }
        write("c10/cifar-10-batches-bin/data_batch_" + std::to_string(b + 1) + ".bin", cifar_records(lab, rec));
        rec += sizes[b];
    }
    write("c10/cifar-10-batches-bin/test_batch.bin", cifar_records({{9}, {0}}, 100));

    for (const std::string& d : {path("c10"), path("c10/cifar-10-batches-bin")}) {
        Dataset tr = load_cifar10(d, Split::Train);
        EXPECT_EQ(tr.name, "cifar10");
        EXPECT_EQ(tr.images.shape(), (Shape{12, 3, 32, 32}));
        EXPECT_EQ(tr.labels.to_vector<int32_t>(), want_labels);
        std::vector<uint8_t> px = tr.images.to_vector<uint8_t>();
        for (int64_t i = 0; i < 12 * 3072; ++i) ASSERT_EQ(px[i], pix(i)) << i;
        EXPECT_EQ(tr.num_classes, 10);
        EXPECT_EQ(tr.class_names.front(), "airplane");
        EXPECT_EQ(tr.class_names.back(), "truck");
        EXPECT_EQ(tr.mean, (std::vector<float>{0.4914f, 0.4822f, 0.4465f}));
        EXPECT_EQ(tr.std, (std::vector<float>{0.2023f, 0.1994f, 0.2010f}));
    }
    Dataset te = load_cifar10(path("c10"), Split::Test);
    EXPECT_EQ(te.images.shape(), (Shape{2, 3, 32, 32}));
    EXPECT_EQ(te.labels.to_vector<int32_t>(), (std::vector<int32_t>{9, 0}));
    // Planar RGB: channel 1 (green) of image 1 starts at byte 1024 of its record's pixels.
    EXPECT_EQ(te.images.to_vector<uint8_t>()[3072 + 1024], pix(101 * 3072 + 1024));
}

TEST_F(DatasetsCpu, Cifar10Errors) {
    const std::string hint = "https://www.cs.toronto.edu/~kriz/cifar.html";
    EXPECT_TRUE(throws_with([&] { load_cifar10(path("none"), Split::Train); },
                            {path("none"), "data directory not found", hint}));
    fs::create_directories(path("empty"));
    EXPECT_TRUE(throws_with([&] { load_cifar10(path("empty"), Split::Test); },
                            {path("empty") + "/test_batch.bin", "file not found", "cifar-10-batches-bin", hint}));
    // A missing batch among the five.
    for (int b : {1, 2, 4, 5}) write("m/data_batch_" + std::to_string(b) + ".bin", cifar_records({{1}}, 0));
    EXPECT_TRUE(throws_with([&] { load_cifar10(path("m"), Split::Train); },
                            {path("m") + "/data_batch_3.bin", "file not found", hint}));
    // Wrong record size: a CIFAR-100 record (3074 bytes) in a CIFAR-10 file; a truncated file.
    write("w/test_batch.bin", cifar_records({{1, 2}}, 0));
    EXPECT_TRUE(throws_with([&] { load_cifar10(path("w"), Split::Test); },
                            {path("w") + "/test_batch.bin", "wrong record size: 3074 bytes is not a multiple of the 3073-byte",
                             hint}));
    write("t/test_batch.bin", cifar_records({{1}, {2}}, 0).substr(0, 5000));
    EXPECT_TRUE(throws_with([&] { load_cifar10(path("t"), Split::Test); },
                            {path("t") + "/test_batch.bin", "5000 bytes is not a multiple", "truncated"}));
    write("e/test_batch.bin", "");
    EXPECT_TRUE(throws_with([&] { load_cifar10(path("e"), Split::Test); }, {path("e") + "/test_batch.bin", "empty"}));
    // Label out of range.
    write("l/test_batch.bin", cifar_records({{1}, {4}, {10}}, 0));
    EXPECT_TRUE(throws_with([&] { load_cifar10(path("l"), Split::Test); },
                            {path("l") + "/test_batch.bin", "label 10 at index 2 out of range [0, 10)", hint}));
    // Gzip-compressed batch.
    write_gz("z/test_batch.bin", cifar_records({{1}}, 0));
    EXPECT_TRUE(throws_with([&] { load_cifar10(path("z"), Split::Test); },
                            {path("z") + "/test_batch.bin", "gzip-compressed"}));
}

TEST_F(DatasetsCpu, Cifar100CoarseAndFine) {
    write("c100/cifar-100-binary/train.bin", cifar_records({{3, 99}, {19, 0}, {0, 42}}, 0));
    write("c100/cifar-100-binary/test.bin", cifar_records({{7, 5}}, 50));
    Dataset fine = load_cifar100(path("c100"), Split::Train);
    EXPECT_EQ(fine.name, "cifar100");
    EXPECT_EQ(fine.images.shape(), (Shape{3, 3, 32, 32}));
    EXPECT_EQ(fine.labels.to_vector<int32_t>(), (std::vector<int32_t>{99, 0, 42}));
    EXPECT_EQ(fine.num_classes, 100);
    ASSERT_EQ(fine.class_names.size(), 100u);
    EXPECT_EQ(fine.class_names[0], "apple");
    EXPECT_EQ(fine.class_names[99], "worm");
    EXPECT_EQ(fine.mean, (std::vector<float>{0.5071f, 0.4867f, 0.4408f}));
    EXPECT_EQ(fine.std, (std::vector<float>{0.2675f, 0.2565f, 0.2761f}));
    std::vector<uint8_t> px = fine.images.to_vector<uint8_t>();
    for (int64_t i = 0; i < 3 * 3072; ++i) ASSERT_EQ(px[i], pix(i)) << i;

    Dataset coarse = load_cifar100(path("c100/cifar-100-binary"), Split::Train, true);
    EXPECT_EQ(coarse.labels.to_vector<int32_t>(), (std::vector<int32_t>{3, 19, 0}));
    EXPECT_EQ(coarse.num_classes, 20);
    ASSERT_EQ(coarse.class_names.size(), 20u);
    EXPECT_EQ(coarse.class_names[19], "vehicles_2");
    EXPECT_EQ(coarse.images.to_vector<uint8_t>(), px);

    Dataset te = load_cifar100(path("c100"), Split::Test, true);
    EXPECT_EQ(te.labels.to_vector<int32_t>(), std::vector<int32_t>{7});
    EXPECT_EQ(te.images.to_vector<uint8_t>()[5], pix(50 * 3072 + 5));
}

TEST_F(DatasetsCpu, Cifar100Errors) {
    const std::string hint = "CIFAR-100 binary version";
    EXPECT_TRUE(throws_with([&] { load_cifar100(path("none"), Split::Train); }, {path("none"), hint}));
    fs::create_directories(path("empty"));
    EXPECT_TRUE(throws_with([&] { load_cifar100(path("empty"), Split::Train); },
                            {path("empty") + "/train.bin", "file not found", "cifar-100-binary"}));
    write("f/train.bin", cifar_records({{1, 2}, {3, 100}}, 0));
    EXPECT_TRUE(throws_with([&] { load_cifar100(path("f"), Split::Train); },
                            {path("f") + "/train.bin", "fine label 100 at index 1 out of range [0, 100)", hint}));
    // The coarse label is validated even when the fine labels are used.
    write("c/test.bin", cifar_records({{20, 2}}, 0));
    EXPECT_TRUE(throws_with([&] { load_cifar100(path("c"), Split::Test); },
                            {path("c") + "/test.bin", "coarse label 20 at index 0 out of range [0, 20)"}));
    // A CIFAR-10 file (3073-byte records) where CIFAR-100 is expected.
    write("w/test.bin", cifar_records({{1}, {2}}, 0));
    EXPECT_TRUE(throws_with([&] { load_cifar100(path("w"), Split::Test); },
                            {path("w") + "/test.bin", "wrong record size: 6146 bytes is not a multiple of the 3074-byte"}));
}

// Every truncation and seeded byte mutations of idx (plain and gzipped) and CIFAR files load or throw
// lrp::Error: no zlib or allocation error escapes, nothing reads out of bounds (the sanitizer build).
TEST_F(DatasetsCpu, TruncatedAndMutatedFilesLoadOrThrowLrpError) {
    const std::string labels = write("l/labels", idx1({3, 0, 9, 1, 3}));
    const std::string images = idx3(5, 3, 4, pixels(60));
    const std::string alphabet("\x00\x01\x03\x08\x80\xff", 6);
    auto with_images = [&](const std::string& p) { load_idx(p, labels, "t"); };
    auto c = lrp::test::fuzz_file(images, path("fz/images"), with_images, 3, alphabet, 16);
    EXPECT_EQ(c.truncated_loaded, 0);
    EXPECT_GT(c.refused, static_cast<int>(images.size()) + 100);
    const std::string gz = read_all(write_gz("g/images.gz", images));
    c = lrp::test::fuzz_file(gz, path("fz/images.gz"), with_images, 4, alphabet);
    EXPECT_EQ(c.truncated_loaded, 0);
    const std::string im = write("l/images", images);
    c = lrp::test::fuzz_file(idx1({3, 0, 9, 1, 3}), path("fz/labels"),
                             [&](const std::string& p) { load_idx(im, p, "t"); }, 5, alphabet);
    EXPECT_EQ(c.truncated_loaded, 0);
    // CIFAR: a truncation at a record boundary is a smaller valid file; only the other outcomes matter.
    const std::string rec = cifar_records({{9}, {0}}, 100);
    fs::create_directories(path("cf"));
    c = lrp::test::fuzz_file(rec, path("cf/test_batch.bin"),
                             [&](const std::string&) { load_cifar10(path("cf"), Split::Test); }, 6, alphabet, 0, 100);
    EXPECT_GT(c.loaded, 0) << "no mutated pixel byte loaded";       // a pixel may hold any byte
    EXPECT_GT(c.refused, 0) << "no bad label or length was refused";  // a label byte past 9, a torn record
}

// A run's summary line: no "default location" for a dataset that has none (it said so, then failed).
TEST_F(DatasetsCpu, DataLocationSaysWhereTheDataComesFrom) {
    EXPECT_EQ(data_location("mnist", ""), "without --data-dir");
    EXPECT_EQ(data_location("mnist", "/d"), "in /d");
    EXPECT_EQ(data_location("fashion-mnist", ""), "in /usr/share/datasets/fashion-mnist (its default location)");
    EXPECT_EQ(data_location("synthetic", "/d"), "built in");
}

// ------------------------------------------------------------------------------------- image folders

