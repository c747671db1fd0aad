// StreamingLoader against DeviceLoader on a PNG folder: bit-identical batches, errors from the decoding
// threads surfacing in batch() with the file named, clean shutdown mid-epoch, the --stream choice, and
// a training run that gives the same result streamed as resident.
#include <chrono>
#include <cstring>

#include "datasets_test_util.h"
#include "lrp/nn/safetensors.h"
#include "lrp/train/data_source.h"
#include "lrp/train/streaming_loader.h"
#include "lrp/train/trainer.h"
#include "trainer_test_util.h"

using namespace lrp::train;

namespace {

// Pixels of image `id`: a seeded pattern, different for every image and channel.
std::vector<uint8_t> pattern(int w, int h, int id) {
    std::vector<uint8_t> v(static_cast<size_t>(w * h * 3));
    uint32_t x = 2654435761u * static_cast<uint32_t>(id + 1);
    for (auto& p : v) {
        x = x * 1664525u + 1013904223u;
        p = static_cast<uint8_t>(x >> 24);
    }
    return v;
}

bool same_bits(const Tensor& a, const Tensor& b) {
    if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
    const Tensor ca = a.to(Device::cpu()), cb = b.to(Device::cpu());
    return std::memcmp(ca.raw_data(), cb.raw_data(), ca.nbytes()) == 0;
}

}  // namespace

class StreamingLoaderCpu : public DatasetsCpu {
protected:
    // `per_class` images of w x h in each of `classes` class folders under `rel`.
    void write_folder(const std::string& rel, int classes, int per_class, int w, int h, int id0 = 0) {
        for (int c = 0; c < classes; ++c)
            for (int i = 0; i < per_class; ++i) {
                const int id = id0 + c * per_class + i;
                write_png(rel + "/class" + std::to_string(c) + "/img" + std::to_string(100 + i) + ".png", w, h, 3,
                          pattern(w, h, id));
            }
    }
    // Every batch of `epochs` epochs of both loaders must match bit for bit.
    static void expect_same_batches(BatchSource& a, BatchSource& b, uint64_t seed, int epochs) {
        ASSERT_EQ(a.size(), b.size());
        ASSERT_EQ(a.batches_per_epoch(), b.batches_per_epoch());
        for (int e = 1; e <= epochs; ++e) {
            a.start_epoch(seed, e);
            b.start_epoch(seed, e);
            for (int64_t i = 0; i < a.batches_per_epoch(); ++i) {
                BatchSource::Batch x = a.batch(i), y = b.batch(i);
                ASSERT_TRUE(same_bits(x.x, y.x)) << "epoch " << e << " batch " << i;
                ASSERT_TRUE(same_bits(x.y, y.y)) << "epoch " << e << " batch " << i;
            }
        }
    }
};

TEST_F(StreamingLoaderCpu, SameBatchesAsDeviceLoader) {
    write_folder("f", 3, 13, 12, 10);  // 39 images, 3 x 10 x 12 (not square)
    Dataset ds = load_image_folder(path("f"));
    FolderIndex ix = index_image_folder(path("f"));
    EXPECT_EQ(ix.files.size(), 39u);
    EXPECT_EQ(ix.labels, ds.labels.to_vector<int32_t>());
    EXPECT_EQ(ix.class_names, ds.class_names);
    EXPECT_EQ((std::vector<int>{ix.channels, ix.height, ix.width}), (std::vector<int>{3, 10, 12}));
    EXPECT_EQ(ix.total_bytes(), static_cast<int64_t>(ds.images.nbytes()));
    folder_mean_std(ix, 0, 3);  // exactly compute_mean_std's result, on any number of threads
    EXPECT_EQ(ix.mean, ds.mean);
    EXPECT_EQ(ix.std, ds.std);

    AugmentSettings aug;
    aug.crop_padding = 3;
    aug.flip = true;
    aug.erasing_p = 0.5f;
    {
        DeviceLoader dl(ds, Device::cpu(), 8, true, aug);
        StreamingLoader sl(ix, Device::cpu(), 8, true, aug, {2, 2});
        expect_same_batches(dl, sl, 11, 2);
    }
    {  // training with the last partial batch kept (39 = 4 x 8 + 7)
        DeviceLoader dl(ds, Device::cpu(), 8, true, aug);
        StreamingLoader sl(ix, Device::cpu(), 8, true, aug, {2, 2});
        EXPECT_EQ(dl.batches_per_epoch(), 4) << "drop_last by default";
        dl.keep_last_batch(true);
        sl.keep_last_batch(true);
        EXPECT_EQ(sl.batches_per_epoch(), 5);
        expect_same_batches(dl, sl, 11, 2);
        dl.start_epoch(11, 1);
        for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(dl.batch(i).x.dim(0), 8);
        const BatchSource::Batch last = dl.batch(4);
        EXPECT_EQ(last.x.dim(0), 7);
        EXPECT_EQ(last.y.numel(), 7);
    }
    {  // one decoding thread, deep queue; evaluation order with a partial last batch
        DeviceLoader dl(ds, Device::cpu(), 8, false, {});
        StreamingLoader sl(ix, Device::cpu(), 8, false, {}, {4, 1});
        EXPECT_EQ(sl.batches_per_epoch(), 5);
        expect_same_batches(dl, sl, 0, 2);
    }
    // Mid-epoch resume: from batch k with the stream offset after batch k-1, both loaders hand out the
    // uninterrupted epoch's remaining batches bit for bit.
    for (int k : {1, 3}) {
        SCOPED_TRACE(k);
        DeviceLoader full(ds, Device::cpu(), 8, true, aug), dl(ds, Device::cpu(), 8, true, aug);
        StreamingLoader sl(ix, Device::cpu(), 8, true, aug, {2, 2});
        full.start_epoch(5, 2);
        std::vector<BatchSource::Batch> want;
        uint64_t offset = 0;
        for (int64_t i = 0; i < full.batches_per_epoch(); ++i) {
            want.push_back(full.batch(i));
            if (i == k - 1) offset = full.rng_offset();
        }
        dl.resume_epoch(5, 2, k, offset);
        sl.resume_epoch(5, 2, k, offset);
        for (int64_t i = k; i < full.batches_per_epoch(); ++i) {
            BatchSource::Batch a = dl.batch(i), b = sl.batch(i);
            EXPECT_TRUE(same_bits(a.x, want[i].x) && same_bits(a.y, want[i].y)) << "resident, batch " << i;
            EXPECT_TRUE(same_bits(b.x, want[i].x) && same_bits(b.y, want[i].y)) << "streamed, batch " << i;
        }
        EXPECT_THROW(sl.batch(0), Error) << "the streamed epoch goes on from batch k only";
    }
    // A stratified subset of the index holds the same rows as that of the loaded folder.
    Dataset dsub = ds.take_stratified(20, 5);
    FolderIndex isub = ix.take_stratified(20, 5);
    EXPECT_EQ(isub.labels, dsub.labels.to_vector<int32_t>());
    EXPECT_EQ(isub.mean, ds.mean);
    DeviceLoader dl(dsub, Device::cpu(), 4, true, aug);
    StreamingLoader sl(isub, Device::cpu(), 4, true, aug);
    expect_same_batches(dl, sl, 3, 1);
    // So does an evenly spaced one (a folder's test subset), which covers every class of the sorted files.
    EXPECT_EQ(ix.evenly_spaced(6).labels, ds.evenly_spaced(6).labels.to_vector<int32_t>());
    EXPECT_EQ(ix.evenly_spaced(6).files, (std::vector<std::string>{ix.files[0], ix.files[6], ix.files[13], ix.files[19],
                                                                    ix.files[26], ix.files[32]}));
    EXPECT_EQ(ix.evenly_spaced(6).labels, (std::vector<int32_t>{0, 0, 1, 1, 2, 2}));
}

TEST_F(StreamingLoaderCpu, SequentialAccessOnly) {
    write_folder("f", 2, 8, 8, 8);
    StreamingLoader sl(index_image_folder(path("f")), Device::cpu(), 4, true, {}, {2, 2});
    sl.start_epoch(1, 1);
    sl.batch(0);
    EXPECT_TRUE(throws_with([&] { sl.batch(2); }, {"in order", "asked for batch 2", "next one is 1"}));
    EXPECT_TRUE(throws_with([&] { sl.batch(0); }, {"in order"}));
    sl.batch(1);
    EXPECT_TRUE(throws_with([&] { sl.batch(4); }, {"out of range"}));
    sl.start_epoch(1, 1);  // starting over is fine
    EXPECT_EQ(sl.batch(0).x.dim(0), 4);
}

TEST_F(StreamingLoaderCpu, UnreadableImageThrowsFromBatchNamingTheFile) {
    write_folder("u", 2, 10, 8, 8);
    const std::string bad = write("u/class1/img105.png", "this is not a PNG");
    FolderIndex ix = index_image_folder(path("u"));
    ix.mean = {0.5f, 0.5f, 0.5f};  // the statistics pass would meet the bad file first
    ix.std = {0.25f, 0.25f, 0.25f};
    const int64_t bad_row = std::find(ix.files.begin(), ix.files.end(), bad) - ix.files.begin();
    ASSERT_LT(bad_row, ix.size());
    const std::vector<int32_t> order = loader_detail::epoch_order(ix.size(), true, 9, 1);
    const int64_t bad_batch = (std::find(order.begin(), order.end(), bad_row) - order.begin()) / 4;
    {
        StreamingLoader sl(ix, Device::cpu(), 4, true, {}, {3, 2});
        sl.start_epoch(9, 1);
        for (int64_t i = 0; i < bad_batch; ++i) EXPECT_NO_THROW(sl.batch(i)) << i;  // earlier batches arrive
        EXPECT_TRUE(throws_with([&] { sl.batch(bad_batch); }, {bad, "cannot decode image"}));
        EXPECT_TRUE(throws_with([&] { sl.batch(bad_batch); }, {bad}));  // again, until the next epoch
    }  // destroyed after the failure: must not hang
    // An image of another size is named together with the one that set the size.
    write_folder("s", 2, 6, 8, 8);
    write_png("s/class1/img200.png", 9, 8, 3, pattern(9, 8, 1));
    FolderIndex is = index_image_folder(path("s"));
    EXPECT_TRUE(throws_with([&] { folder_mean_std(is); },
                            {path("s/class1/img200.png"), "image is 9x8", is.files[0] + " is 8x8"}));
    is.mean = ix.mean;
    is.std = ix.std;
    StreamingLoader sl(is, Device::cpu(), 13, false, {});
    EXPECT_TRUE(throws_with([&] { sl.batch(0); }, {path("s/class1/img200.png"), "all images must end up"}));
}

// The statistics pass names the first unreadable image in the folder's order, whatever the thread count (each
// thread decodes every t-th image and stops past a failure another thread found first).
TEST_F(StreamingLoaderCpu, StatisticsNameTheFirstUnreadableImageOnAnyThreadCount) {
    write_folder("v", 2, 12, 8, 8);
    // rows 5 and 13 of 24: on 3 threads thread 2 owns row 5 and thread 1 row 13, which it may reach first
    const std::string first = write("v/class0/img105.png", "not a PNG"), later = write("v/class1/img101.png", "nor this");
    FolderIndex ix = index_image_folder(path("v"));
    ASSERT_LT(std::find(ix.files.begin(), ix.files.end(), first), std::find(ix.files.begin(), ix.files.end(), later));
    for (int threads : {1, 2, 3, 5, 24}) {
        SCOPED_TRACE(threads);
        FolderIndex copy = ix;
        try {
            folder_mean_std(copy, 0, threads);
            ADD_FAILURE() << "no error";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(first), std::string::npos) << e.what();
            EXPECT_EQ(std::string(e.what()).find(later), std::string::npos) << e.what();
        }
    }
}

TEST_F(StreamingLoaderCpu, DestroyingMidEpochDoesNotHang) {
    write_folder("m", 2, 40, 96, 96);  // large enough that workers are still decoding when it goes
    FolderIndex ix = index_image_folder(path("m"));
    folder_mean_std(ix);
    const auto t0 = std::chrono::steady_clock::now();
    for (int taken : {0, 1, 3}) {
        StreamingLoader sl(ix, Device::cpu(), 16, true, {}, {4, 3});
        sl.start_epoch(0, 1);
        for (int i = 0; i < taken; ++i) sl.batch(i);
    }  // workers blocked on a full queue, or still decoding
    {
        StreamingLoader never_started(ix, Device::cpu(), 4, true, {});
    }
    {
        StreamingLoader restarted(ix, Device::cpu(), 4, true, {}, {2, 2});
        restarted.start_epoch(0, 1);
        restarted.batch(0);
        restarted.start_epoch(0, 2);  // abandons epoch 1 mid-way
        restarted.batch(0);
    }
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 60.0);
}

TEST_F(StreamingLoaderCpu, StreamModeChoice) {
    write_folder("c/train", 2, 6, 8, 8);
    write_folder("c/test", 2, 3, 8, 8, 50);
    DataOptions o;
    o.dataset = "folder";
    o.data_dir = path("c");
    DataSplit auto_small = open_split(o, Split::Train, 0, false, 0, Device::cpu(), 4, true, {});
    EXPECT_FALSE(auto_small.streaming);
    EXPECT_EQ(auto_small.loader->size(), 12);
    o.resident_limit_mb = 0;  // over the limit: streams
    DataSplit auto_big = open_split(o, Split::Test, 0, false, 0, Device::cpu(), 4, false, {});
    EXPECT_TRUE(auto_big.streaming);
    EXPECT_EQ(auto_big.loader->size(), 6);
    EXPECT_EQ(auto_big.num_classes, 2);
    EXPECT_NE(auto_big.summary.find("streamed"), std::string::npos) << auto_big.summary;
    o.resident_limit_mb = int64_t{1} << 50;  // the limit in bytes wrapped (and the split streamed)
    EXPECT_FALSE(open_split(o, Split::Test, 0, false, 0, Device::cpu(), 4, false, {}).streaming);
    o.resident_limit_mb = 0;
    o.decoy.shade = "label";  // a decoy is drawn into resident images only
    EXPECT_TRUE(throws_with([&] { open_split(o, Split::Test, 0, false, 0, Device::cpu(), 4, false, {}); },
                            {"--decoy needs the test split resident on the device", "streams", "--stream off"}));
    o.stream = "off";
    DataSplit decoyed = open_split(o, Split::Test, 0, false, 0, Device::cpu(), 4, false, {});
    EXPECT_FALSE(decoyed.streaming);
    EXPECT_NE(decoyed.summary.find("decoy swatch 4x4"), std::string::npos) << decoyed.summary;
    decoyed.loader->start_epoch(0, 0);
    EXPECT_TRUE(decoyed.loader->batch(0).allowed.defined());
    o.decoy.shade = "none";
    EXPECT_FALSE(open_split(o, Split::Test, 0, false, 0, Device::cpu(), 4, false, {}).streaming);
    o.dataset = "synthetic";
    o.stream = "on";
    EXPECT_TRUE(throws_with([&] { open_split(o, Split::Test, 0, false, 0, Device::cpu(), 4, false, {}); },
                            {"cannot stream", "--dataset folder"}));
    o.stream = "sometimes";
    EXPECT_TRUE(throws_with([&] { open_split(o, Split::Test, 0, false, 0, Device::cpu(), 4, false, {}); },
                            {"--stream must be auto, on or off"}));
    TrainConfig c;
    c.stream = "on";  // dataset fashion-mnist
    EXPECT_TRUE(throws_with([&] { c.validate(); }, {"--stream on", "image folders"}));
    TrainConfig f = c;
    f.dataset = "folder";
    f.decoy = "label";
    EXPECT_TRUE(throws_with([&] { f.validate(); }, {"--decoy is drawn into images resident on the device"}));
    nlohmann::json j = c;
    EXPECT_EQ(j.at("stream"), "on");
    EXPECT_EQ(j.at("resident-limit-mb"), 2048);
}

TEST_F(StreamingLoaderCpu, TrainingStreamedMatchesResident) {
    write_folder("t/train", 3, 16, 12, 12);
    write_folder("t/test", 3, 8, 12, 12, 1000);
    auto run = [&](const std::string& stream) {
        TrainConfig c = lrp::test::tiny(path("run-" + stream));
        c.dataset = "folder";
        c.data_dir = path("t");
        c.train_subset = 40;
        c.test_subset = 20;
        c.epochs = 2;
        c.batch_size = 8;
        c.augment = "random-erasing";
        c.crop_padding = 2;
        c.seed = 4;
        c.stream = stream;
        return run_training(c);
    };
    const TrainSummary off = run("off"), on = run("on");
    EXPECT_EQ(on.epochs, 2);
    EXPECT_EQ(on.final_test_acc, off.final_test_acc);
    EXPECT_EQ(on.best_test_acc, off.best_test_acc);
    std::ifstream f_off(path("run-off/metrics.jsonl")), f_on(path("run-on/metrics.jsonl"));
    std::string l_off, l_on;
    int rows = 0;
    while (std::getline(f_off, l_off) && std::getline(f_on, l_on)) {
        const nlohmann::json a = nlohmann::json::parse(l_off), b = nlohmann::json::parse(l_on);
        for (const char* k : {"train_loss", "train_acc", "test_loss", "test_acc", "test_top5"})
            EXPECT_EQ(a.at(k), b.at(k)) << k << " in row " << rows;
        ++rows;
    }
    EXPECT_EQ(rows, 2);
    nn::StateDict wa = nn::load_safetensors(path("run-off/model.safetensors"));
    nn::StateDict wb = nn::load_safetensors(path("run-on/model.safetensors"));
    ASSERT_EQ(wa.size(), wb.size());
    for (auto& [k, t] : wa) EXPECT_TRUE(same_bits(t, wb.at(k))) << k;  // the same training, bit for bit
}

// Given statistics replace a folder's own, resident and streamed alike: x' = (x * s0 + m0 - m) / s.
TEST_F(StreamingLoaderCpu, GivenNormalizationReplacesTheFoldersOwn) {
    write_folder("n/train", 2, 5, 8, 8);
    write_folder("n/test", 2, 3, 8, 8, 50);
    DataOptions o;
    o.dataset = "folder";
    o.data_dir = path("n");
    for (const char* mode : {"off", "on"}) {
        SCOPED_TRACE(mode);
        o.stream = mode;
        o.mean.clear();
        o.stdev.clear();
        DataSplit own = open_split(o, Split::Test, 0, false, 0, Device::cpu(), 6, false, {});
        own.loader->start_epoch(0, 0);
        const std::vector<float> x0 = own.loader->batch(0).x.to_vector<float>();
        ASSERT_EQ(own.mean.size(), 3u);
        o.mean = {0.25f};  // one value for all channels
        o.stdev = {0.5f};
        DataSplit given = open_split(o, Split::Test, 0, false, 0, Device::cpu(), 6, false, {});
        EXPECT_EQ(given.mean, std::vector<float>(3, 0.25f));
        EXPECT_EQ(given.stdev, std::vector<float>(3, 0.5f));
        given.loader->start_epoch(0, 0);
        const std::vector<float> x1 = given.loader->batch(0).x.to_vector<float>();
        ASSERT_EQ(x1.size(), x0.size());
        const size_t hw = 64;
        for (size_t i = 0; i < x0.size(); ++i) {
            const size_t c = (i / hw) % 3;
            ASSERT_NEAR(x1[i], (x0[i] * own.stdev[c] + own.mean[c] - 0.25f) / 0.5f, 1e-5) << i;
        }
        o.mean = {0.1f, 0.2f};  // neither one per channel nor one for all
        o.stdev = {1.f, 1.f};
        EXPECT_TRUE(throws_with([&] { open_split(o, Split::Test, 0, false, 0, Device::cpu(), 6, false, {}); },
                                {"2 mean/std values", "3 channel(s)"}));
    }
}

TEST(NormalizationCpu, NormalizeFlagValues) {
    const std::vector<float> rm{0.3f}, rs{0.4f};
    const Normalization rec{rm, rs};
    EXPECT_EQ(normalization_for("auto", rec).first, rm);
    EXPECT_TRUE(normalization_for("auto", {}).first.empty()) << "no record: the data's own";
    EXPECT_TRUE(normalization_for("data", rec).first.empty());
    EXPECT_EQ(normalization_for("imagenet", rec).second, (std::vector<float>{0.229f, 0.224f, 0.225f}));
    const auto given = normalization_for("0.5,0.25,0/1,2,3e-1", rec);
    EXPECT_EQ(given.first, (std::vector<float>{0.5f, 0.25f, 0.f}));
    EXPECT_EQ(given.second, (std::vector<float>{1.f, 2.f, 0.3f}));
    EXPECT_TRUE(throws_with([&] { normalization_for("imagenett", rec); }, {"must be auto, data, imagenet"}));
    EXPECT_TRUE(throws_with([&] { normalization_for("0.5,x/1,1", rec); }, {"'x' is not a number"}));
    EXPECT_TRUE(throws_with([&] { normalization_for("0.5,/1,1", rec); }, {"'' is not a number"}));
    EXPECT_TRUE(throws_with([&] { normalization_for("0.5/1,1", rec); }, {"1 mean but 2 std values"}));
    EXPECT_TRUE(throws_with([&] { normalization_for("0.5/0", rec); }, {"a std must be > 0"}));
    EXPECT_TRUE(throws_with([&] { normalization_for("0.5/nan", rec); }, {"'nan' is not a number"}));
    EXPECT_TRUE(throws_with([&] { normalization_for("0x10/1", rec); }, {"'0x10' is not a number"}));
}
