// Starting a run from pretrained weights (--init-weights, --init-head; reldrop.md Q18): every tensor loaded,
// the classifier kept or drawn anew from the run's seed, each mismatch named with the setting that fixes it,
// and a resumed run continuing from its checkpoint whatever became of the file.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "datasets_test_util.h"
#include "lrp/nn/models.h"
#include "lrp/nn/safetensors.h"
#include "lrp/train/checkpoint.h"
#include "lrp/train/data_source.h"
#include "lrp/train/init_from.h"
#include "trainer_test_util.h"

using namespace lrp;
using namespace lrp::train;
using namespace lrp::test;

namespace {
DataSplit split_of(int classes, int channels = 1, int size = 8) {
    DataSplit d;
    d.name = "toy";
    d.num_classes = classes;
    d.channels = channels;
    d.height = d.width = size;
    d.mean.assign(channels, 0.5f);
    d.stdev.assign(channels, 0.25f);
    return d;
}
std::unique_ptr<nn::Sequential> built(const std::string& arch, const DataSplit& d, uint64_t seed, int width = 2) {
    auto m = nn::make_model(model_spec(arch, width, d));
    Generator g(seed);
    nn::init_weights(*m, g, "torchvision");
    return m;
}
// A plain state_dict file (as PyTorch's safetensors writes one: no lrpcu metadata).
std::string saved(nn::Module& m, const std::string& name) {
    const std::string p = remove_at_exit(fresh_dir(name) + ".safetensors");
    nn::save_safetensors(p, m.state_dict());
    return p;
}
TrainConfig from(const std::string& path, const std::string& head, const std::string& arch = "resnet18") {
    TrainConfig c;
    c.arch = arch;
    c.width = 2;
    c.init_weights = path;
    c.init_head = head;
    return c;
}
bool same(const Tensor& a, const Tensor& b) {
    return a.dtype() != DType::F32 || a.to_vector<float>() == b.to_vector<float>();
}
}  // namespace

TEST(InitFrom, ParsesTheHeadModes) {
    EXPECT_EQ(parse_init_head("keep").kind, InitHead::Kind::Keep);
    EXPECT_EQ(parse_init_head("reinit").kind, InitHead::Kind::Reinit);
    const InitHead n = parse_init_head("normal:0.01");
    EXPECT_EQ(n.kind, InitHead::Kind::Normal);
    EXPECT_FLOAT_EQ(n.std, 0.01f);
    for (const char* bad : {"normal:", "normal:-1", "normal:0", "normal:nan", "normal:1x", "zero", ""})
        EXPECT_TRUE(throws_with([&] { parse_init_head(bad); }, {"--init-head", "normal:0.01"})) << bad;
    TrainConfig c;
    c.init_head = "normal:0.01";  // without --init-weights it would do nothing
    EXPECT_TRUE(throws_with([&] { c.validate(); }, {"--init-head normal:0.01", "--init-weights"}));
    c.init_weights = "w.safetensors";
    EXPECT_NO_THROW(c.validate());
}

TEST(InitFrom, ClassifierIsTheLastLinearLayer) {
    const DataSplit d = split_of(10);
    EXPECT_EQ(classifier_name(*built("resnet18", d, 1)), "fc");
    EXPECT_EQ(classifier_name(*built("vgg11", d, 1)), "classifier");
    EXPECT_EQ(classifier_name(*built("vgg11_imagenet", split_of(10, 3, 32), 1)), "classifier.6");
}

TEST(InitFrom, KeepLoadsEveryTensorOfAStateDict) {
    const DataSplit d = split_of(10);
    auto src = built("resnet18", d, 1);
    const std::string path = saved(*src, "init_keep");
    auto m = built("resnet18", d, 2);
    Generator g(7);
    const std::string note = init_from_weights(from(path, "keep"), *m, g, d);
    EXPECT_NE(note.find("a state_dict"), std::string::npos) << note;
    EXPECT_NE(note.find("classifier fc kept"), std::string::npos) << note;
    const nn::StateDict want = src->state_dict(), got = m->state_dict();
    ASSERT_EQ(want.size(), got.size());
    for (const auto& [k, t] : want) EXPECT_TRUE(same(t, got.at(k))) << k;
}

TEST(InitFrom, NewHeadIsDrawnFromTheGeneratorAndTheRestLoaded) {
    const DataSplit d = split_of(10);
    auto src = built("resnet18", d, 1);
    const std::string path = saved(*src, "init_normal");
    auto draw = [&](const std::string& head, uint64_t seed) {
        auto m = built("resnet18", d, 2);
        Generator g(seed);
        init_from_weights(from(path, head), *m, g, d);
        return m->state_dict();
    };
    const nn::StateDict a = draw("normal:0.01", 5), b = draw("normal:0.01", 5), other = draw("normal:0.01", 6);
    const nn::StateDict want = src->state_dict();
    for (const auto& [k, t] : want) {
        if (k.rfind("fc.", 0) == 0) continue;
        EXPECT_TRUE(same(t, a.at(k))) << k;
    }
    EXPECT_EQ(a.at("fc.weight").to_vector<float>(), b.at("fc.weight").to_vector<float>()) << "same seed, same head";
    EXPECT_NE(a.at("fc.weight").to_vector<float>(), other.at("fc.weight").to_vector<float>());
    EXPECT_NE(a.at("fc.weight").to_vector<float>(), want.at("fc.weight").to_vector<float>());
    for (float v : a.at("fc.bias").to_vector<float>()) EXPECT_EQ(v, 0.f);
    const std::vector<float> w = a.at("fc.weight").to_vector<float>();
    double ss = 0;
    for (float v : w) ss += double(v) * v;
    const double sd = std::sqrt(ss / w.size());
    EXPECT_GT(sd, 0.007) << w.size() << " draws";  // N(0, 0.01): 160 draws put the estimate within ~±0.002
    EXPECT_LT(sd, 0.013);

    // reinit: the classifier the model was built with (its --init draw), not the file's.
    auto m = built("resnet18", d, 2);
    const Tensor own = m->state_dict().at("fc.weight");
    Generator g(5);
    EXPECT_NE(init_from_weights(from(path, "reinit"), *m, g, d).find("initialised anew (--init torchvision)"),
              std::string::npos);
    EXPECT_EQ(m->state_dict().at("fc.weight").to_vector<float>(), own.to_vector<float>());
    EXPECT_TRUE(same(m->state_dict().at("conv1.weight"), want.at("conv1.weight")));
}

TEST(InitFrom, AnotherClassCountNeedsANewHead) {
    const DataSplit d10 = split_of(10), d4 = split_of(4);
    const std::string path = saved(*built("resnet18", d10, 1), "init_classes");
    auto m = built("resnet18", d4, 2);
    Generator g(1);
    EXPECT_TRUE(throws_with([&] { init_from_weights(from(path, "keep"), *m, g, d4); },
                            {"--init-weights", "10 outputs", "4 classes", "--init-head normal:0.01"}));
    EXPECT_NO_THROW(init_from_weights(from(path, "normal:0.01"), *m, g, d4));
    EXPECT_EQ(m->state_dict().at("fc.weight").shape(), Shape({4, 16}));
}

TEST(InitFrom, MismatchesAreNamedWithTheSettingThatFixesThem) {
    const DataSplit d = split_of(10);
    auto m = built("resnet18", d, 2);
    Generator g(1);
    auto fails = [&](const TrainConfig& c, std::vector<std::string> words) {
        return throws_with([&] { init_from_weights(c, *m, g, d); }, words);
    };
    EXPECT_TRUE(fails(from("/nonexistent/w.safetensors", "keep"), {"--init-weights", "does not exist"}));
    const std::string vgg = saved(*built("vgg11", d, 1), "init_vgg");
    EXPECT_TRUE(fails(from(vgg, "keep"), {"does not fit --arch resnet18 --width 2", "toy", "missing: layer1.0.conv1"}));
    const std::string wide = saved(*built("resnet18", d, 1, 4), "init_wide");
    EXPECT_TRUE(fails(from(wide, "keep"), {"first-stage width 4", "--width 2", "pass --width 4"}));
    const std::string rgb = saved(*built("resnet18", split_of(10, 3), 1), "init_rgb");
    EXPECT_TRUE(fails(from(rgb, "normal:0.01"), {"3-channel images", "toy has 1-channel"}));
    const std::string pickle = remove_at_exit(fresh_dir("init_pickle") + ".pth");
    std::ofstream(pickle) << "PK\x03\x04 a torch.save zip archive";
    EXPECT_TRUE(fails(from(pickle, "keep"), {"--init-weights", "scripts/to-safetensors.py"}));
    nn::StateDict backbone = built("resnet18", d, 1)->state_dict();
    backbone.erase("fc.weight");
    backbone.erase("fc.bias");
    const std::string headless = remove_at_exit(fresh_dir("init_headless") + ".safetensors");
    nn::save_safetensors(headless, backbone);
    EXPECT_TRUE(fails(from(headless, "keep"), {"missing: fc.weight", "has no classifier fc", "--init-head normal:0.01"}));
    EXPECT_NO_THROW(init_from_weights(from(headless, "normal:0.01"), *m, g, d));

    auto src = built("resnet18", d, 1);
    nn::StateDict sd = src->state_dict();
    std::vector<float> v = sd.at("layer1.0.conv1.weight").to_vector<float>();
    v[3] = std::numeric_limits<float>::quiet_NaN();
    sd["layer1.0.conv1.weight"] = Tensor::from_vector(v, sd.at("layer1.0.conv1.weight").shape(), Device::cpu());
    const std::string nan = remove_at_exit(fresh_dir("init_nan") + ".safetensors");
    nn::save_safetensors(nan, sd);
    const nn::StateDict before = m->state_dict();
    EXPECT_TRUE(fails(from(nan, "keep"), {"layer1.0.conv1.weight", "NaN or Inf"}));
    EXPECT_TRUE(same(m->state_dict().at("conv1.weight"), before.at("conv1.weight"))) << "a refused file changes nothing";
    // NaN in a classifier that is drawn anew does not matter; kept, it does.
    sd = src->state_dict();
    std::vector<float> w = sd.at("fc.weight").to_vector<float>();
    w[0] = std::numeric_limits<float>::infinity();
    sd["fc.weight"] = Tensor::from_vector(w, sd.at("fc.weight").shape(), Device::cpu());
    nn::save_safetensors(nan, sd);
    EXPECT_TRUE(fails(from(nan, "keep"), {"fc.weight", "NaN or Inf"}));
    EXPECT_NO_THROW(init_from_weights(from(nan, "normal:0.01"), *m, g, d));
}

// End to end: a run started from another run's model takes its weights (with lr 0 they stay as loaded), records
// the file as an absolute path, and resumes from its checkpoint even after the file is gone.
TEST(InitFrom, TrainingStartsFromTheFileAndResumesWithoutIt) {
    TrainConfig a = tiny(fresh_dir("init_run_a"));
    a.epochs = 1;
    run_training(a);
    // Given relative to the working directory (as a user types it); recorded absolute.
    const std::string relative = "lrp_init_run_pre_" + std::to_string(::getpid()) + ".safetensors";
    const std::string pretrained = std::filesystem::absolute(relative).lexically_normal().string();
    std::filesystem::copy_file(a.out_dir + "/model.safetensors", relative,
                               std::filesystem::copy_options::overwrite_existing);

    TrainConfig b = tiny(fresh_dir("init_run_b"));
    b.epochs = 1;
    b.lr = 0.f;
    b.init_weights = relative;
    run_training(b);
    const nn::StateDict wa = nn::load_safetensors(pretrained), wb = nn::load_safetensors(b.out_dir + "/model.safetensors");
    for (const auto& [k, t] : wa) {
        if (k.find("running_") != std::string::npos || k.find("num_batches") != std::string::npos) continue;
        EXPECT_TRUE(same(t, wb.at(k))) << k << ": lr 0 keeps the loaded weights";
    }
    EXPECT_EQ(read_checkpoint_state(b.out_dir + "/checkpoint.safetensors").config.at("init-weights"), pretrained);

    TrainConfig c = tiny(fresh_dir("init_run_c"));
    c.init_weights = pretrained;
    c.init_head = "normal:0.01";
    c.stop_after_epoch = 1;
    run_training(c);
    std::filesystem::remove(pretrained);
    c.stop_after_epoch = 0;
    c.resume = true;
    c.init_weights = "/elsewhere/moved.safetensors";  // not read on resume: the recorded path is kept
    EXPECT_EQ(run_training(c).epochs, c.epochs) << "the resume reads the checkpoint, not the (gone) file";
    EXPECT_EQ(read_checkpoint_state(c.out_dir + "/checkpoint.safetensors").config.at("init-weights"), pretrained);
    c.init_head = "keep";
    EXPECT_TRUE(throws_with([&] { run_training(c); }, {"--resume", "init-head", "normal:0.01"}));
    TrainConfig gone = tiny(fresh_dir("init_run_gone"));
    gone.init_weights = pretrained;
    EXPECT_TRUE(throws_with([&] { run_training(gone); }, {"--init-weights", "does not exist"}));
}
