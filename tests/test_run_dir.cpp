// The run folder of a training run that fails before it writes anything: the folders the run made for --out go
// again (a typo in a flag or missing data leaves no empty run folder); a folder that existed stays; the temporary
// files of killed writes go.
#include <filesystem>
#include <fstream>

#include "lrp/error.h"
#include "test_util.h"
#include "trainer_test_util.h"

using namespace lrp;
using namespace lrp::train;
using namespace lrp::test;
namespace fs = std::filesystem;

namespace {
void expect_fails(TrainConfig c) {
    try {
        run_training(c);
        ADD_FAILURE() << "no error for a dataset that is not there";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("not found"), std::string::npos) << e.what();
    }
}
}  // namespace

TEST(TrainerCpu, AFailedRunRemovesTheFoldersItMadeAndKeepsOthers) {
    const std::string root = fresh_dir("made");
    TrainConfig c = tiny(root + "/runs/a/");  // two folders made (and a trailing separator)
    c.dataset = "cifar10";
    c.data_dir = root + "-no-such-data";
    expect_fails(c);
    EXPECT_FALSE(fs::exists(root)) << "the folders the failed run made are still there";

    fs::create_directories(root + "/kept");
    std::ofstream(root + "/kept/notes.txt") << "mine";
    c.out_dir = root + "/kept/run";  // made by the run inside a folder that existed
    expect_fails(c);
    EXPECT_FALSE(fs::exists(root + "/kept/run"));
    EXPECT_TRUE(fs::exists(root + "/kept/notes.txt"));
    c.out_dir = root + "/kept";  // an existing folder is not the run's to remove
    expect_fails(c);
    EXPECT_TRUE(fs::exists(root + "/kept/notes.txt"));
    fs::create_directories(root + "/empty");
    c.out_dir = root + "/empty";
    expect_fails(c);
    EXPECT_TRUE(fs::is_directory(root + "/empty"));

    c = tiny(root + "/ok/run");  // a run that succeeds keeps its folder, of course
    c.epochs = 1;
    run_training(c);
    EXPECT_TRUE(fs::exists(root + "/ok/run/checkpoint.safetensors"));
    fs::remove_all(root);
}

// Temporary files of writes a killed run left (<file>.tmp.<pid>.<n>) go when a run opens the folder: of every file
// a run writes and of the copies it keeps; files of yours that look alike stay.
TEST(TrainerCpu, ARunRemovesTheTemporaryFilesOfKilledWrites) {
    const std::string d = fresh_dir("temps");
    fs::create_directories(d);
    const std::vector<std::string> run_temps = {
        "checkpoint.safetensors.tmp.99999.0", "model_best_val.safetensors.tmp.12.3", "first_batch.png.tmp.7.0",
        "first_batch_clean.png.tmp.7.1",      "metrics.jsonl.earlier.tmp.5.0",        "model.safetensors.earlier-2.tmp.5.1",
        "config.json.tmp"};
    const std::vector<std::string> yours = {"notes.txt.tmp.1.2", "model.safetensors.earlier-x.tmp.1.2",
                                            "first_batch.png.tmp.a.0", "mine.tmp"};
    for (const auto& n : run_temps) std::ofstream(d + "/" + n) << "partial";
    for (const auto& n : yours) std::ofstream(d + "/" + n) << "mine";
    TrainConfig c = tiny(d);
    c.epochs = 1;
    run_training(c);
    for (const auto& n : run_temps) EXPECT_FALSE(fs::exists(d + "/" + n)) << n;
    for (const auto& n : yours) EXPECT_TRUE(fs::exists(d + "/" + n)) << n;
    fs::remove_all(d);
}
