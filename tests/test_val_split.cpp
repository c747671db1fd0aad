// The held-out validation split (--val-split): a stratified, seeded part of the training split that is never
// trained on (resident and streamed alike), evaluated every epoch; the run reports the test accuracy of the
// epoch with the best validation accuracy, keeps those weights, resumes to the same choice, and eval
// --split val finds the same images again.
#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "datasets_test_util.h"
#include "lrp/nn/models.h"
#include "lrp/nn/safetensors.h"
#include "lrp/train/checkpoint.h"
#include "lrp/train/data_source.h"
#include "lrp/train/trainer.h"
#include "trainer_test_util.h"

using namespace lrp;
using namespace lrp::train;
using namespace lrp::test;

TEST_F(DatasetsCpu, SplitStratifiedHoldsOutABalancedDisjointPart) {
    std::vector<int32_t> lab;
    for (int i = 0; i < 90; ++i) lab.push_back((i * 7) % 3);  // 30 per class
    const Dataset d = tagged(lab, 3);
    auto [held, rest] = d.split_stratified(13, 4);
    ASSERT_EQ(held.size(), 13);
    ASSERT_EQ(rest.size(), 77);
    EXPECT_EQ(held.labels.to_vector<int32_t>(), d.take_stratified(13, 4).labels.to_vector<int32_t>())
        << "the held-out rows are take_stratified's";
    std::set<int64_t> tags;
    std::map<int, int> per;
    for (const Dataset* part : {&held, &rest})
        for (int64_t i = 0; i < part->size(); ++i) {
            const int64_t t = tag_of(*part, i);
            EXPECT_EQ(part->labels.data<int32_t>()[i], lab[t]) << "the label travels with its image";
            if (i > 0) {
                EXPECT_LT(tag_of(*part, i - 1), t) << "original order kept";
            }
            EXPECT_TRUE(tags.insert(t).second) << "image " << t << " in both parts";
            if (part == &held) per[lab[t]]++;
        }
    EXPECT_EQ(tags.size(), 90u) << "every image in one part";
    EXPECT_EQ(per[0], 5);
    EXPECT_EQ(per[1], 4);
    EXPECT_EQ(per[2], 4);
    EXPECT_EQ(rest.mean, d.mean) << "both keep the whole split's statistics";
    auto [other, unused] = d.split_stratified(13, 5);
    EXPECT_NE(other.images.to_vector<uint8_t>(), held.images.to_vector<uint8_t>()) << "another seed, other images";

    EXPECT_TRUE(throws_with([&] { d.split_stratified(90, 1); }, {"split_stratified", "90", "some must remain"}));
    EXPECT_TRUE(throws_with([&] { d.split_stratified(0, 1); }, {"split_stratified"}));
    EXPECT_EQ(complement_rows({1, 3}, 5), (std::vector<int64_t>{0, 2, 4}));

    // Unequal classes: held out in proportion (largest remainder), and a small class keeps an image to train on.
    std::vector<int32_t> skew(60, 0);
    skew.insert(skew.end(), 30, 1);
    skew.insert(skew.end(), 2, 2);  // 92 samples: 60, 30, 2
    auto count_of = [](const Dataset& part, int cls) {
        const std::vector<int32_t> l = part.labels.to_vector<int32_t>();
        return std::count(l.begin(), l.end(), cls);
    };
    const Dataset s = tagged(skew, 3);
    auto [h20, r20] = s.split_stratified(20, 3);  // 20 * (60, 30, 2) / 92 = 13.04, 6.52, 0.43: 13, 6 + 1, 0
    EXPECT_EQ(count_of(h20, 0), 13);
    EXPECT_EQ(count_of(h20, 1), 7);
    EXPECT_EQ(count_of(h20, 2), 0);
    auto [h89, r89] = s.split_stratified(89, 3);  // all but one image of each class
    EXPECT_EQ(count_of(r89, 0), 1);
    EXPECT_EQ(count_of(r89, 1), 1);
    EXPECT_EQ(count_of(r89, 2), 1) << "every class keeps an image to train on";
    EXPECT_TRUE(
        throws_with([&] { s.split_stratified(90, 3); }, {"keep one sample of each of its 3 classes", "at most 89"}));
    EXPECT_TRUE(throws_with([&] { complement_rows({3, 1}, 5); }, {"complement_rows", "ascending"}));
}

namespace {
bool same_bits(const Tensor& a, const Tensor& b) {
    const Tensor ca = a.to(Device::cpu()), cb = b.to(Device::cpu());
    return ca.shape() == cb.shape() && std::memcmp(ca.raw_data(), cb.raw_data(), ca.nbytes()) == 0;
}
// Epoch 1 of both sources, batch by batch.
::testing::AssertionResult same_epoch(BatchSource& a, BatchSource& b) {
    if (a.size() != b.size()) return ::testing::AssertionFailure() << a.size() << " vs " << b.size() << " images";
    a.start_epoch(3, 1);
    b.start_epoch(3, 1);
    for (int64_t i = 0; i < a.batches_per_epoch(); ++i) {
        BatchSource::Batch x = a.batch(i), y = b.batch(i);
        if (!same_bits(x.x, y.x) || !same_bits(x.y, y.y)) return ::testing::AssertionFailure() << "batch " << i;
    }
    return ::testing::AssertionSuccess();
}
}  // namespace

// An image folder held resident or streamed splits into the same validation and training images.
TEST_F(DatasetsCpu, ValidationSplitOfAFolderIsTheSameStreamedOrResident) {
    for (int c = 0; c < 3; ++c)
        for (int i = 0; i < 9 + c; ++i) {
            std::vector<uint8_t> px(8 * 6 * 3);
            for (size_t j = 0; j < px.size(); ++j) px[j] = static_cast<uint8_t>(j * 13 + i * 31 + c * 71);
            write_png("f/train/c" + std::to_string(c) + "/" + std::to_string(10 + i) + ".png", 8, 6, 3, px);
        }
    const FolderIndex ix = index_image_folder(path("f/train"));
    const auto [iheld, irest] = ix.split_stratified(7, 11);
    const auto [dheld, drest] = load_folder_index(ix).split_stratified(7, 11);
    EXPECT_EQ(iheld.labels, dheld.labels.to_vector<int32_t>());
    EXPECT_EQ(irest.labels, drest.labels.to_vector<int32_t>());

    DataOptions o;
    o.dataset = "folder";
    o.data_dir = path("f");
    AugmentSettings aug;
    aug.crop_padding = 2;
    aug.flip = true;
    o.stream = "off";
    auto resident = open_train_val(o, 20, 5, 7, 11, Device::cpu(), 4, aug);
    o.stream = "on";
    auto streamed = open_train_val(o, 20, 5, 7, 11, Device::cpu(), 4, aug);
    ASSERT_TRUE(resident.second.loader && streamed.second.loader);
    EXPECT_TRUE(streamed.first.streaming && streamed.second.streaming);
    EXPECT_EQ(resident.second.loader->size(), 7);
    EXPECT_EQ(resident.first.loader->size(), 20) << "--train-subset picks from the rest";
    EXPECT_TRUE(same_epoch(*resident.first.loader, *streamed.first.loader));
    EXPECT_TRUE(same_epoch(*resident.second.loader, *streamed.second.loader));
    EXPECT_TRUE(same_epoch(*resident.second.loader, *open_val(o, 7, 11, Device::cpu(), 4).loader))
        << "open_val: the same validation images";
    EXPECT_EQ(resident.first.mean, resident.second.mean);
    EXPECT_FALSE(open_train_val(o, 0, 5, 0, 11, Device::cpu(), 4, aug).second.loader) << "no split: no loader";
    EXPECT_TRUE(throws_with([&] { open_train_val(o, 0, 5, 30, 11, Device::cpu(), 4, aug); },
                            {"--val-split 30", "30 images of the training split"}));
}

// explain --split val explains eval's validation images: held_out_images of the training split are open_val's
// images, in its order; another seed holds out others; a run without a validation split, or a training split of
// another size than the run drew from, is refused.
TEST_F(DatasetsCpu, ExplainsHeldOutImagesAreEvalsValidationImages) {
    DataOptions o;
    o.dataset = "synthetic";
    const data::Dataset train = data::load_dataset("synthetic", "", data::Split::Train, {});
    const nlohmann::json cfg = {{"val-split", 24}, {"seed", 5}};
    const data::Dataset held = held_out_images(train, cfg, train.size(), "w.safetensors");
    DataSplit v = open_val(o, 24, val_split_seed(5), Device::cpu(), 24);
    ASSERT_EQ(held.size(), 24);
    ASSERT_EQ(v.loader->size(), 24);
    v.loader->start_epoch(0, 1);
    const BatchSource::Batch b = v.loader->batch(0);
    EXPECT_EQ(b.y.to_vector<int32_t>(), held.labels.to_vector<int32_t>());
    const std::vector<float> x = b.x.to_vector<float>();
    const std::vector<uint8_t> u = held.images.to_vector<uint8_t>();
    ASSERT_EQ(x.size(), u.size());
    const int64_t C = held.channels(), HW = held.height() * held.width();
    for (size_t i = 0; i < u.size(); ++i) {
        const size_t c = static_cast<size_t>((static_cast<int64_t>(i) / HW) % C);
        ASSERT_NEAR(x[i], (u[i] / 255.f - v.mean[c]) / v.stdev[c], 1e-5f) << "element " << i;
    }
    const data::Dataset other = held_out_images(train, {{"val-split", 24}, {"seed", 6}}, -1, "w.safetensors");
    EXPECT_NE(other.images.to_vector<uint8_t>(), u) << "another seed holds out the same images";
    EXPECT_TRUE(throws_with([&] { held_out_images(train, {{"seed", 5}}, -1, "w.safetensors"); },
                            {"--split val: w.safetensors records no validation split"}));
    // An image folder's val/ is its test split: said where the run was a folder's.
    EXPECT_TRUE(throws_with([&] { held_out_images(train, {{"dataset", "folder"}}, -1, "w.safetensors"); },
                            {"records no validation split", "val/ (without test/) is its test split: --split test"}));
    EXPECT_TRUE(throws_with([&] { held_out_images(train, cfg, train.size() - 1, "w.safetensors"); },
                            {"drew its validation images from", "these would not be the same images"}));
}

namespace {
TrainConfig with_val(const std::string& out) {
    TrainConfig c = tiny(out);
    c.val_split = 24;
    return c;
}
// Accuracy of a weights file on the run's validation split (eval --split val's images).
double val_accuracy(const std::string& weights, const TrainConfig& c) {
    DataOptions o = data_options(c);
    const CheckpointState st = recorded_state(weights);
    o.mean = st.mean;
    o.stdev = st.stdev;
    const uint64_t seed = st.config.at("seed").get<uint64_t>();
    DataSplit v = open_val(o, st.config.at("val-split").get<int64_t>(), val_split_seed(seed), Device::cpu(), 16);
    auto model = nn::make_model(model_spec(c.arch, c.width, v));
    load_model_weights(weights, *model);
    return evaluate(*model, *v.loader, v.num_classes).top1;
}
}  // namespace

TEST(TrainerCpu, ValidationSplitSelectsAnEpochAndKeepsItsWeights) {
    const std::string d = fresh_dir("val");
    TrainConfig c = with_val(d);
    c.seed = 3;
    c.epochs = 4;
    const TrainSummary s = run_training(c);
    const auto r = rows(d);
    ASSERT_EQ(r.size(), 4u);
    int64_t best = 0;  // the first epoch with the highest validation accuracy
    for (size_t e = 0; e < r.size(); ++e) {
        ASSERT_TRUE(r[e].contains("val_acc") && r[e].contains("val_loss") && r[e].contains("val_top5"));
        if (best == 0 || r[e]["val_acc"].get<double>() > r[best - 1]["val_acc"].get<double>()) best = int64_t(e) + 1;
    }
    EXPECT_EQ(s.best_val_epoch, best);
    EXPECT_EQ(s.best_val_acc, r[best - 1]["val_acc"].get<double>());
    EXPECT_EQ(s.test_acc_at_best_val, r[best - 1]["test_acc"].get<double>());
    const CheckpointState st = read_checkpoint_state(d + "/checkpoint.safetensors");
    EXPECT_EQ(st.best_val_epoch, best);
    EXPECT_EQ(st.test_acc_at_best_val, s.test_acc_at_best_val);
    EXPECT_EQ(st.train_images, 64) << "--train-subset counts the images trained on";
    EXPECT_EQ(st.val_source_images, 2000) << "the synthetic training split the validation images came from";
    EXPECT_EQ(recorded_state(d + "/model_best_val.safetensors").val_source_images, 2000);
    EXPECT_EQ(val_accuracy(d + "/model_best_val.safetensors", c), s.best_val_acc) << "the selected epoch's weights";
    EXPECT_EQ(val_accuracy(d + "/model.safetensors", c), r.back()["val_acc"].get<double>());
    EXPECT_EQ(val_accuracy(d + "/checkpoint.safetensors", c), r.back()["val_acc"].get<double>());

    const std::string plain = fresh_dir("val_none");  // the same run without the split
    TrainConfig cp = tiny(plain);
    cp.seed = 3;
    cp.epochs = 4;
    const TrainSummary p = run_training(cp);
    EXPECT_EQ(p.best_val_epoch, -1);
    EXPECT_FALSE(rows(plain)[0].contains("val_acc"));
    EXPECT_FALSE(std::filesystem::exists(plain + "/model_best_val.safetensors"));
    EXPECT_FALSE(same_weights(d, plain)) << "the held-out images change what is trained on";
}

TEST(TrainerCpu, ValidationSplitResumesToTheSameChoice) {
    const std::string a = fresh_dir("val_a"), b = fresh_dir("val_b");
    const TrainSummary sa = run_training(with_val(a));
    const TrainSummary sb = run_interrupted(with_val(b));
    EXPECT_TRUE(same_weights(a, b));
    EXPECT_EQ(sb.best_val_epoch, sa.best_val_epoch);
    EXPECT_EQ(sb.best_val_acc, sa.best_val_acc);
    EXPECT_EQ(sb.test_acc_at_best_val, sa.test_acc_at_best_val);
    EXPECT_EQ(nn::load_safetensors(a + "/model_best_val.safetensors").at("fc.weight").to_vector<float>(),
              nn::load_safetensors(b + "/model_best_val.safetensors").at("fc.weight").to_vector<float>());
    EXPECT_EQ(rows(a).back()["val_loss"], rows(b).back()["val_loss"]);

    {  // a training split of another size would hold out other images: refused on resume
        const std::string ck = b + "/checkpoint.safetensors";
        edit_checkpoint_state(ck, b + "/other.safetensors", [](nlohmann::json& j) { j["val_source_images"] = 1999; });
        std::filesystem::rename(ck, b + "/kept.safetensors");
        std::filesystem::rename(b + "/other.safetensors", ck);
        TrainConfig more = with_val(b);
        more.epochs = 5;
        more.resume = true;
        EXPECT_TRUE(throws_with([&] { run_training(more); }, {"drew its validation images from 1999"}));
        std::filesystem::rename(b + "/kept.safetensors", ck);
    }
    TrainConfig other = with_val(b);  // another split on resume: refused
    other.val_split = 30;
    other.epochs = 5;
    other.resume = true;
    EXPECT_TRUE(throws_with([&] { run_training(other); }, {"val-split: checkpoint has 24, now 30"}));
}

TEST(TrainerCpu, ValidationSplitErrors) {
    TrainConfig c = with_val(fresh_dir("val_err"));
    c.val_split = -1;
    EXPECT_TRUE(throws_with([&] { run_training(c); }, {"--val-split must be >= 0"}));
    c.val_split = 2000;  // the synthetic training split's size
    EXPECT_TRUE(throws_with([&] { run_training(c); }, {"--val-split 2000", "2000 images of the training split"}));

    // A checkpoint recorded before the setting existed had no validation split: --val-split on its resume is
    // refused rather than training on other images than it did.
    const std::string old = fresh_dir("val_old");
    TrainConfig o = tiny(old);
    o.stop_after_epoch = 1;
    run_training(o);
    const std::string ck = old + "/checkpoint.safetensors";
    edit_checkpoint_state(ck, ck, [](nlohmann::json& j) { j["config"].erase("val-split"); });
    TrainConfig r = with_val(old);
    r.resume = true;
    EXPECT_TRUE(throws_with([&] { run_training(r); }, {"val-split: checkpoint has 0, now 24"}));

    // Best-validation weights of an earlier run without its checkpoint are not overwritten.
    const std::string stale = fresh_dir("val_stale");
    std::filesystem::create_directories(stale);
    std::ofstream(stale + "/model_best_val.safetensors") << "x";
    EXPECT_TRUE(throws_with([&] { run_training(with_val(stale)); },
                            {"model_best_val.safetensors", "nothing was overwritten"}));
}
