// The run folder of a training run that fails before it writes anything: the folders the run made for --out go
// again (a typo in a flag or missing data leaves no empty run folder); a folder that existed stays.
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
