// run_training: builds data, model, optimiser and schedule from the config, runs epochs with progress,
// evaluation, metrics and checkpoints, and resumes from <out>/checkpoint.safetensors when asked.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "lrp/context.h"
#include "lrp/log.h"
#include "lrp/lrp/composites.h"
#include "lrp/nn/activation.h"
#include "lrp/nn/models.h"
#include "lrp/nn/safetensors.h"
#include "lrp/nvtx.h"
#include "lrp/ops/elementwise.h"
#include "lrp/ops/gemm.h"
#include "lrp/ops/metrics.h"
#include "lrp/train/checkpoint.h"
#include "lrp/train/data_source.h"
#include "lrp/train/init_from.h"
#include "lrp/train/interrupt.h"
#include "lrp/train/isnet_calibration.h"
#include "lrp/train/progress.h"
#include "lrp/train/schedule.h"
#include "lrp/utf8.h"
#include "lrp/train/step.h"
#include "lrp/train/trainer.h"
#include "run_files.h"
#include "run_settings.h"
#include "step_method.h"

namespace fs = std::filesystem;

namespace lrp::train {

namespace {
// What a divergence error suggests: the learning rate, and the run's other loss scales where it has them.
std::string divergence_hint(const TrainConfig& c) {
    std::string h = "try a lower --lr";
    if (c.weight_decay >= 0.1f) h += " or --weight-decay";
    if (c.augment == "isnet") h += ", or other --isnet-* loss settings";
    if (c.augment == "rrr") h += " or --rrr-lambda";
    if (c.augment == "sgt") h += " or --sgt-lambda";
    return h;
}

}  // namespace

TrainSummary run_training(TrainConfig cfg) {
    cfg.resolve_defaults();
    cfg.validate();
    // Recorded as an absolute path, so that a --resume from another working directory finds the data.
    if (!cfg.data_dir.empty()) cfg.data_dir = fs::absolute(cfg.data_dir).lexically_normal().string();
    if (!cfg.init_weights.empty()) cfg.init_weights = fs::absolute(cfg.init_weights).lexically_normal().string();
    if (!cfg.masks.empty()) cfg.masks = fs::absolute(cfg.masks).lexically_normal().string();
    if (!cfg.isnet_calibrate.empty())
        cfg.isnet_calibrate = fs::absolute(cfg.isnet_calibrate).lexically_normal().string();
    const fs::path out(cfg.out_dir);
    const fs::path ckpt = out / "checkpoint.safetensors";
    std::error_code ec;
    const fs::path created = first_missing_folder(out);
    fs::create_directories(out, ec);
    LRP_CHECK(!ec && fs::is_directory(out), "--out '", out.string(), "': the output directory cannot be created (",
              ec ? ec.message() : "a file of that name exists", ")");
    const RunDirLock lock(out, created);  // before the checks below: no second run acts on them meanwhile
    if (!cfg.resume && fs::exists(ckpt))
        LRP_THROW("output directory '", out.string(), "' already holds a checkpoint; pass --resume to continue it or ",
                  "choose another --out (nothing was overwritten)");
    // The weights of a finished run whose checkpoint is gone: nothing to continue, nothing to overwrite.
    for (const char* weights : {"model.safetensors", "model_best_val.safetensors"})
        LRP_CHECK(fs::exists(ckpt) || !fs::exists(out / weights), "output directory '", out.string(),
                  "' holds the weights of an earlier run (", weights, ") but no checkpoint.safetensors to continue ",
                  "from; choose another --out or move them away (nothing was overwritten)");
    // A resume with other settings is refused before any data is read.
    nlohmann::json saved;  // the checkpoint's settings, when resuming
    if (cfg.resume && fs::exists(ckpt)) {
        saved = check_resume_settings(ckpt, config_json(cfg));
        // A resumed run continues from its checkpoint: the weights it started from stay as recorded.
        if (const std::string was = saved.value("init-weights", std::string()); was != cfg.init_weights) {
            log_warn("--resume: --init-weights ", cfg.init_weights, " is not used (the run continues from its ",
                     "checkpoint; it started from '", was, "')");
            cfg.init_weights = was;
        }
    }
    const bool from_init_weights = !cfg.init_weights.empty() && !(cfg.resume && fs::exists(ckpt));
    if (from_init_weights) check_init_weights_file(cfg);  // before the data is read
    if (cfg.augment == "isnet" && !cfg.isnet_calibrate.empty() && !(cfg.resume && fs::exists(ckpt)))
        LRP_CHECK(fs::is_regular_file(cfg.isnet_calibrate), "--isnet-calibrate ", cfg.isnet_calibrate, ": ",
                  fs::exists(cfg.isnet_calibrate) ? "not a regular file" : "the file does not exist",
                  " (the weights of a plain model of this --arch and --width); checked before the data is read");
    const Device dev = parse_device(cfg.device);
    const int nthreads = dev.is_cpu() ? ops::cpu_kernel_threads() : 0;
    const std::string threads =
        nthreads ? " (" + std::to_string(nthreads) + (nthreads == 1 ? " thread)" : " threads)") : std::string();
    std::printf("lrpcu train: %s %s, %s (width %d), %d epochs, batch %d, device %s%s\n", cfg.dataset.c_str(),
                data::data_location(cfg.dataset, cfg.data_dir).c_str(), cfg.arch.c_str(), cfg.width,
                cfg.epochs, cfg.batch_size, dev.str().c_str(), threads.c_str());

    DataOptions dopt = data_options(cfg);
    CheckpointState recorded;  // what the checkpoint being resumed recorded
    if (cfg.resume && fs::exists(ckpt)) recorded = read_checkpoint_state(ckpt.string());
    if (!recorded.mean.empty()) {  // a resumed run keeps its normalisation even if the data changed since
        dopt.mean = recorded.mean;
        dopt.stdev = recorded.stdev;
        dopt.strict_normalization = false;
    }
    // With --val-split, the held-out images come from the seed alone (not from --train-subset).
    std::pair<DataSplit, DataSplit> parts = open_train_val(dopt, cfg.train_subset, cfg.seed, cfg.val_split,
                                                           val_split_seed(cfg.seed), dev, cfg.batch_size,
                                                           augment_settings(cfg));
    DataSplit train_data = std::move(parts.first), val_data = std::move(parts.second);
    DataOptions test_opt = dopt;  // the test images are normalised as the training images are
    test_opt.mean = train_data.mean;
    test_opt.stdev = train_data.stdev;
    test_opt.strict_normalization = false;  // other channel counts: check_splits_agree names the mismatch
    test_opt.decoy = test_decoy(cfg);
    test_opt.folder.mask_dir.clear();  // nothing in a training run uses the test split's masks
    DataSplit test_data = open_split(test_opt, data::Split::Test, cfg.test_subset, false, 0, dev, cfg.batch_size,
                                     false, {});
    std::printf("%s\n", train_data.summary.c_str());
    if (val_data.loader) std::printf("%s\n", val_data.summary.c_str());
    std::printf("%s\n", test_data.summary.c_str());
    check_splits_agree(train_data, test_data);
    // The held-out images are drawn from the whole training split: another split would hold out others, and
    // train on images the run validated on.
    LRP_CHECK(!val_data.loader || recorded.val_source_images < 0 || recorded.val_source_images == val_data.source_images,
              "--resume: the training split has ", val_data.source_images, " images now, the run drew its validation ",
              "images from ", recorded.val_source_images, "; another split would hold out other images (restore the ",
              "data, or start a new --out)");
    if (recorded.train_images >= 0 && recorded.train_images != train_data.loader->size()) {
        const std::string what = str("the training split has ", train_data.loader->size(), " images now, the run had ",
                                     recorded.train_images);
        LRP_CHECK(recorded.partial.batches == 0, "--resume: ", what, "; a checkpoint from inside an epoch needs the ",
                  "same images to continue that epoch's order (restore them, or start a new --out)");
        log_warn("--resume: ", what, " (the data changed since the checkpoint)");
    }
    if (!saved.is_null()) {  // the same side: recorded as the run recorded it (config.json must agree with it)
        check_resume_edda_patch(saved, cfg.edda_patch, train_data.height, train_data.width);
        cfg.edda_patch = saved.value("edda-patch", 0);
    }
    LRP_CHECK(cfg.crop_padding < std::min(train_data.height, train_data.width), "--crop-padding ", cfg.crop_padding,
              " must be smaller than the ", train_data.height, " x ", train_data.width, " images (0: no random crop)");
    if (cfg.train_subset > train_data.loader->size())
        log_warn("--train-subset ", cfg.train_subset, " exceeds the ", train_data.loader->size(),
                 " training images: using all of them");
    if (cfg.test_subset > test_data.loader->size())
        log_warn("--test-subset ", cfg.test_subset, " exceeds the ", test_data.loader->size(),
                 " test images: using all of them");
    // Class names are recorded in the checkpoints (JSON, UTF-8): one that is not would stop the run at its first
    // checkpoint, after an epoch of training.
    for (const std::string& c : train_data.class_names)
        LRP_CHECK(valid_utf8(c), train_data.name, ": the class name '", escaped_bytes(c), "' (a class folder's name) is ",
                  "not valid UTF-8, and lrpcu records class names in its checkpoints; rename the folder");
    LRP_CHECK(train_data.num_classes >= 2, train_data.name, " has ", train_data.num_classes, " class ",
              bracket_list(train_data.class_names), ": a classifier needs at least 2 (image folders: one subfolder ",
              "per class)");
    if (train_data.name == test_data.name && cfg.dataset == "folder")
        log_warn("the image folder '", cfg.data_dir, "' has no train/ and test/ (or val/) subfolders, so both ",
                 "splits are the same images: the 'test accuracy' of this run is measured on its training images");
    BatchSource& train_loader = *train_data.loader;
    train_loader.keep_last_batch(!cfg.drop_last);
    const bool erasing = cfg.augment == "random-erasing" || (cfg.reldrop() && cfg.reldrop_with_erasing);
    if (erasing) erasing_fill(cfg.erasing_fill, train_data.mean, train_data.stdev);  // check now
    // --isnet-calibrate: C1 and C2 from the plain model's heatmaps, measured once (a resumed run keeps its own).
    std::optional<IsnetCalibration> calibration;
    if (cfg.augment == "isnet" && !cfg.isnet_calibrate.empty()) {
        calibration = recorded.isnet_calibration;
        if (calibration) std::printf("%s (recorded in the checkpoint)\n", describe(*calibration).c_str());
        else calibration = calibrate_isnet(cfg, train_data, dev);
    }
    StepMethod method(cfg, train_data, dev, calibration ? &*calibration : nullptr);  // checked against the images
    BatchSource& test_loader = *test_data.loader;

    auto model = nn::make_model(model_spec(cfg.arch, cfg.width, train_data));
    Generator init_gen(epoch_seed(cfg.seed, -1, 3));
    nn::init_weights(*model, init_gen, cfg.init);
    if (from_init_weights)  // (a resumed run continues from its checkpoint's weights)
        std::printf("%s\n", init_from_weights(cfg, *model, init_gen, train_data).c_str());
    model->to(dev);
    method.warn_unassigned_rules(*model);
    auto opt = make_optimizer(cfg, model->named_params());
    const int64_t spe = train_loader.batches_per_epoch();
    LrSchedule sched = make_schedule(cfg, spe);

    CheckpointState st;
    const nlohmann::json cfg_json = config_json(cfg);
    st.config = cfg_json;
    if (cfg.resume && fs::exists(ckpt)) {
        st = load_checkpoint(ckpt.string(), *model, opt.get());
        st.config = cfg_json;  // the settings replaced now (epochs, data dir, ...) are what later checkpoints record
        const std::string bad = first_nonfinite(*model);
        LRP_CHECK(bad.empty(), ckpt.string(), ": the checkpoint's weights hold NaN or Inf (", bad, "); it cannot be ",
                  "continued (start a new --out)");
        // More (or fewer) epochs stretch a schedule that depends on the run's length: the LR from here on
        // follows the new length, so the result differs from a run started with it.
        // A checkpoint inside epoch E + 1 holds weights past epoch E: a run ending at E has no weights of its own.
        LRP_CHECK(cfg.epochs > st.epoch || st.partial.batches == 0, "--resume: the checkpoint is inside epoch ",
                  st.epoch + 1, " (after step ", st.partial.batches, " of it), past the ", cfg.epochs, " epoch(s) --epochs ",
                  "asks for; its weights are not those of epoch ", cfg.epochs, " (give --epochs ", st.epoch + 1,
                  " or more to finish that epoch; nothing was changed)");
        if (cfg.epochs <= st.epoch)
            log_warn("--resume: the checkpoint is after epoch ", st.epoch, " and --epochs is ", cfg.epochs,
                     ": nothing left to train (a larger --epochs continues the run)");
        else if (saved.value("epochs", cfg.epochs) != cfg.epochs && cfg.schedule != "constant" &&
                 cfg.schedule != "step")
            log_warn("--resume: --epochs changed from ", saved.value("epochs", cfg.epochs), " to ", cfg.epochs, "; the ",
                     cfg.schedule, " schedule is recomputed over ", cfg.epochs, " epochs, so the LR jumps to that ",
                     "schedule's value at epoch ", st.epoch + 1);
        check_class_names(st.class_names, train_data.class_names, ckpt.string(), "the training split");
        warn_if_numerics_changed(st.numerics, numerics_of(dev));
        if (st.partial.batches > 0)
            std::printf("resumed from %s in epoch %lld after step %lld of %lld\n", ckpt.string().c_str(),
                        (long long)st.epoch + 1, (long long)st.partial.batches, (long long)spe);
        else
            std::printf("resumed from %s after epoch %lld\n", ckpt.string().c_str(), (long long)st.epoch);
        // (batches == spe: the epoch's steps are all done, its evaluation is not: a split failed to load then, or the
        // run was stopped at the epoch's last step)
        LRP_CHECK(st.partial.batches <= spe, ckpt.string(), ": the checkpoint stopped after step ", st.partial.batches,
                  " of an epoch, but this run has ", spe, " steps per epoch");
        const bool other_settings = config_edited(out / "config.json", saved);
        if (other_settings) move_aside_other_settings(out);
        set_aside_later_results(out, st.epoch, st.global_step, other_settings);
        // Stops count epochs and steps from the run's start: one the checkpoint is already past does not apply.
        if (cfg.stop_after_epoch > 0 && cfg.stop_after_epoch <= st.epoch) {
            log_warn("--stop-after-epoch ", cfg.stop_after_epoch, ": the checkpoint is after epoch ", st.epoch,
                     " already; ignored (it counts from the run's start)");
            cfg.stop_after_epoch = 0;
        }
        if (cfg.stop_after_step > 0 && cfg.stop_after_step <= st.global_step) {
            log_warn("--stop-after-step ", cfg.stop_after_step, ": the checkpoint is after step ", st.global_step,
                     " already; ignored (it counts from the run's start)");
            cfg.stop_after_step = 0;
        }
    } else {
        if (cfg.resume) log_warn("--resume: no checkpoint in '", out.string(), "'; starting from scratch");
        set_aside_metrics(out, cfg_json.dump(2) + "\n");
    }
    st.class_names = train_data.class_names;
    st.mean = train_data.mean;  // what eval and explain normalise with by default
    st.stdev = train_data.stdev;
    st.train_images = train_data.loader->size();
    st.numerics = numerics_of(dev);  // what the checkpoints from here record
    st.isnet_calibration = calibration;
    st.val_source_images = val_data.loader ? val_data.source_images : -1;
    write_text_atomic(out / "config.json", cfg_json.dump(2) + "\n");
    std::printf("model %s: %lld parameters; %lld training images, %s%lld test images, %lld steps per epoch%s\n",
                model->type(), (long long)nn::count_params(*model), (long long)train_loader.size(),
                val_data.loader ? (std::to_string(val_data.loader->size()) + " validation images, ").c_str() : "",
                (long long)test_loader.size(), (long long)spe,
                loader_detail::left_out_note(train_loader.size(), cfg.batch_size, !cfg.drop_last).c_str());
    const fs::path best_val_weights = out / "model_best_val.safetensors";
    if (val_data.loader && st.best_val_epoch > 0 && !fs::exists(best_val_weights))
        log_warn("--resume: ", best_val_weights.string(), " (the weights of epoch ", st.best_val_epoch, ", the best on ",
                 "the validation split so far) is gone; it is written again only if a later epoch does better");

    const auto t0 = std::chrono::steady_clock::now();
    StepOptions so;
    so.label_smoothing = cfg.label_smoothing;
    so.clip_grad_norm = cfg.clip_grad_norm;
    const bool tty = stdout_is_tty();
    // What a divergence error says about the checkpoint it leaves alone.
    auto kept_note = [&] {
        return fs::exists(ckpt) ? "the last good checkpoint is kept in " + ckpt.string() + " (--resume repeats the same "
                                  "steps; to go on from it with other settings, train into a new --out with "
                                  "--init-weights " + ckpt.string() + ")"
                                : std::string("no checkpoint was written (none completed a finite epoch)");
    };
    const std::string hint = divergence_hint(cfg);
    // Dropout masks (torchvision's VGG classifier) from the seed and the epoch, like every other draw of
    // the run, so a resumed run reproduces them.
    Generator dropout_gen;
    nn::set_dropout_generator(*model, &dropout_gen);
    // SIGINT/SIGTERM, or --stop-after-step: the run stops after the current step with a checkpoint.
    const InterruptGuard interrupts;
    auto stop_requested = [&] {
        return InterruptGuard::received() != 0 || (cfg.stop_after_step > 0 && st.global_step >= cfg.stop_after_step);
    };
    auto stop_reason = [&] {
        const int sig = InterruptGuard::received();
        if (sig == SIGINT || sig == SIGTERM) return std::string(sig == SIGINT ? "SIGINT" : "SIGTERM");
        return str("--stop-after-step ", cfg.stop_after_step);
    };
    PartialEpoch resume_at = st.partial;  // a mid-epoch checkpoint continues inside its epoch
    st.partial = PartialEpoch();
    // A fresh run saves the first batch it trains on as a PNG grid.
    // (A RelDrop run whose per-batch coin selected no batch before its last checkpoint has it still to write.)
    bool preview_pending = resume_at.batches > 0 ? resume_at.preview_pending : st.epoch == 0 || st.preview_pending;
    bool stopped = false;
    for (int64_t epoch = st.epoch + 1; epoch <= cfg.epochs && !stopped; ++epoch) {
        LRP_NVTX_RANGE("epoch");
        const auto te = std::chrono::steady_clock::now();
        const int64_t first = resume_at.batches;
        if (first > 0) train_loader.resume_epoch(cfg.seed, epoch, first, resume_at.loader_rng);
        else train_loader.start_epoch(cfg.seed, epoch);
        Progress prog("epoch " + std::to_string(epoch) + "/" + std::to_string(cfg.epochs), spe, tty, first,
                      resume_at.images);
        auto sum = [&](float v) { return Tensor::from_vector(std::vector<float>{v}, {1}, dev); };
        Tensor loss_sum = sum(resume_at.loss_sum), correct_sum = sum(resume_at.correct_sum);
        method.start_epoch(resume_at);
        Generator reldrop_gen(epoch_seed(cfg.seed, epoch, 4), resume_at.reldrop_rng);
        dropout_gen = Generator(epoch_seed(cfg.seed, epoch, 5), resume_at.dropout_rng);
        int64_t images = resume_at.images;
        const double seconds_before = resume_at.seconds;
        resume_at = PartialEpoch();
        // A mid-epoch checkpoint after `done` steps of this epoch (the loader's stream at `loader_rng`).
        // `seconds`: the epoch's training time so far (< 0: until now).
        auto save_partial = [&](int64_t done, uint64_t loader_rng, double seconds = -1) {
            PartialEpoch& q = st.partial;
            q.batches = done;
            q.loss_sum = loss_sum.to_vector<float>()[0];
            q.correct_sum = correct_sum.to_vector<float>()[0];
            method.save(q);
            q.images = images;
            q.seconds = seconds >= 0 ? seconds
                                     : seconds_before +
                                           std::chrono::duration<double>(std::chrono::steady_clock::now() - te).count();
            q.loader_rng = loader_rng;
            q.reldrop_rng = reldrop_gen.offset();
            q.dropout_rng = dropout_gen.offset();
            q.preview_pending = preview_pending;
            const std::string bad = std::isfinite(q.loss_sum) ? first_nonfinite(*model) : std::string("the loss");
            LRP_CHECK(bad.empty(), "training diverged by epoch ", epoch, ", step ", done, " (", bad, " holds NaN or Inf; ",
                      hint, "); ", kept_note());
            save_checkpoint(ckpt.string(), *model, *opt, st);
            st.partial = PartialEpoch();
        };
        // Every step of the epoch was done before the checkpoint: the optimizer holds the rate (and momentum) of the
        // last one, as the uninterrupted run does when it evaluates and records the epoch.
        if (first == spe && st.global_step > 0) {
            opt->set_lr(sched.lr_at(st.global_step - 1));
            if (sched.cycle_momentum) opt->set_momentum(sched.momentum_at(st.global_step - 1));
        }
        for (int64_t b = first; b < spe; ++b) {
            opt->set_lr(sched.lr_at(st.global_step));
            if (sched.cycle_momentum) opt->set_momentum(sched.momentum_at(st.global_step));
            const uint64_t loader_rng = train_loader.rng_offset();
            BatchSource::Batch batch;
            try {
                batch = train_loader.batch(b);
            } catch (const std::exception& e) {  // e.g. a streamed image that became unreadable: keep the steps
                prog.finish();
                if (b == first) {  // nothing of this epoch to keep: the last checkpoint stands
                    if (!fs::exists(ckpt)) throw;
                    LRP_THROW(e.what(), "\n(the checkpoint in ", ckpt.string(), " is intact; fix the data and ",
                              "continue with --resume)");
                }
                try {
                    save_partial(b, loader_rng);
                } catch (const std::exception& e2) {
                    LRP_THROW(e.what(), "\n(no checkpoint of this epoch's steps: ", e2.what(), ")");
                }
                LRP_THROW(e.what(), "\n(a checkpoint after step ", b, " of epoch ", epoch, " was saved in ",
                          ckpt.string(), "; fix the data and continue with --resume)");
            }
            const StepResult r = method.step(*model, *opt, batch, reldrop_gen, so);
            if (preview_pending && method.save_preview(out, batch, b + 1))  // the first batch as trained on
                preview_pending = false;
            ops::axpy(static_cast<float>(batch.x.dim(0)), r.loss, loss_sum);
            ops::axpy(1.f, r.correct, correct_sum);
            images += batch.x.dim(0);
            ++st.global_step;
            if ((b + 1) % cfg.log_every == 0 || b + 1 == spe) {
                const double l = loss_sum.to_vector<float>()[0] / images;
                LRP_CHECK(std::isfinite(l), "training diverged: the loss is ", l, " by epoch ", epoch, ", step ", b + 1,
                          " (it is checked every --log-every ", cfg.log_every, " steps and at the epoch's end; ", hint,
                          "); ", kept_note());
                prog.update(b + 1, l, correct_sum.to_vector<float>()[0] / images, images);
            }
            const bool stop = stop_requested();
            const bool periodic = cfg.checkpoint_every > 0 && (b + 1) % cfg.checkpoint_every == 0;
            // At the epoch's end the epoch checkpoint below serves a periodic save; a stop (a signal, or
            // --stop-after-step) there saves the steps before the evaluation too (a long one could outlast the
            // user's patience, and a second signal then ends the process); --resume evaluates that checkpoint.
            // (--stop-after-step at the run's very last step stops nothing: the run finishes)
            const bool last = b + 1 == spe && epoch == cfg.epochs && InterruptGuard::received() == 0;
            if ((b + 1 < spe && periodic) || (stop && !last)) {
                save_partial(b + 1, train_loader.rng_offset());
                if (stop) {
                    prog.finish();
                    std::printf("stopped (%s) in epoch %lld after step %lld of %lld: checkpoint %s; continue with "
                                "--resume\n", stop_reason().c_str(), (long long)epoch, (long long)b + 1, (long long)spe,
                                ckpt.string().c_str());
                    stopped = true;
                    break;
                }
            }
        }
        if (stopped) break;
        prog.finish();
        model->clear_saved();
        const double train_loss = loss_sum.to_vector<float>()[0] / images;
        const double train_acc = correct_sum.to_vector<float>()[0] / images;
        const double train_secs =
            seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - te).count();
        // A streamed image of the validation or test split that fails to load, or a signal during the evaluation:
        // the epoch's training is kept, in a checkpoint after its last step, and --resume evaluates it.
        auto evaluate_or_keep = [&](BatchSource& split) {
            EvalResult r;
            try {
                r = evaluate(*model, split, train_data.num_classes, [] { return InterruptGuard::received() != 0; });
            } catch (const std::exception& e) {  // std::bad_alloc or a thread that cannot start too
                try {
                    save_partial(spe, train_loader.rng_offset(), train_secs);
                } catch (const std::exception& e2) {
                    LRP_THROW(e.what(), "\n(no checkpoint of this epoch's steps: ", e2.what(), ")");
                }
                LRP_THROW(e.what(), "\n(a checkpoint after all ", spe, " steps of epoch ", epoch, ", before its ",
                          "evaluation, was saved in ", ckpt.string(), "; fix the data and continue with --resume)");
            }
            if (r.stopped) {
                save_partial(spe, train_loader.rng_offset(), train_secs);
                std::printf("stopped (%s) in epoch %lld during its evaluation, after step %lld of %lld: checkpoint "
                            "%s; continue with --resume (it evaluates the epoch)\n",
                            stop_reason().c_str(), (long long)epoch, (long long)spe, (long long)spe,
                            ckpt.string().c_str());
                stopped = true;
            }
            return r;
        };
        EvalResult vev;  // on the validation split, when there is one
        if (val_data.loader) {
            vev = evaluate_or_keep(*val_data.loader);
            if (stopped) break;
            LRP_CHECK(std::isfinite(vev.loss), "training diverged: the validation loss after epoch ", epoch, " is ",
                      vev.loss, " (the weights hold NaN or Inf; ", hint, "); ", kept_note());
        }
        EvalResult ev = evaluate_or_keep(test_loader);
        if (stopped) break;
        // The last step can leave NaN/Inf weights behind a finite training loss (computed before the update):
        // such an epoch is neither recorded nor checkpointed.
        LRP_CHECK(std::isfinite(ev.loss), "training diverged: the test loss after epoch ", epoch, " is ", ev.loss,
                  " (the weights hold NaN or Inf; ", hint, "); ", kept_note());
        // A BatchNorm running variance gone to Inf makes its layer's output a constant: finite losses, a dead model.
        if (const std::string bad = first_nonfinite(*model); !bad.empty())
            LRP_THROW("training diverged: after epoch ", epoch, ", ", bad, " holds NaN or Inf (", hint, "); ",
                      kept_note());
        st.last_test_acc = ev.top1;
        if (ev.top1 > st.best_test_acc) {
            st.best_test_acc = ev.top1;
            st.best_epoch = epoch;
        }
        if (val_data.loader && vev.top1 > st.best_val_acc) {  // model selection on the validation split
            st.best_val_acc = vev.top1;
            st.best_val_epoch = epoch;
            st.test_acc_at_best_val = ev.top1;
            export_model(best_val_weights.string(), *model, st);  // before the checkpoint that records it
        }
        st.epoch = epoch;
        nlohmann::json row = {{"epoch", epoch},          {"step", st.global_step}, {"lr", opt->lr()},
                              {"train_loss", train_loss}, {"train_acc", train_acc}, {"test_loss", ev.loss},
                              {"test_acc", ev.top1},     {"test_top5", ev.top5},   {"train_seconds", train_secs},
                              {"images_per_s", images / train_secs},
                              {"peak_device_bytes", memory_stats(dev).peak_in_use}};
        if (val_data.loader) {
            row["val_loss"] = vev.loss;
            row["val_acc"] = vev.top1;
            row["val_top5"] = vev.top5;
        }
        method.add_metrics(row, epoch, static_cast<double>(images), *model);
        append_line(out / "metrics.jsonl", row.dump());
        st.preview_pending = preview_pending;
        save_checkpoint(ckpt.string(), *model, *opt, st);
        char val_part[64] = "", clean_part[32] = "", top5_part[24] = "";
        if (st.class_names.size() > 5)  // (with at most 5 classes every label is in the top 5: 100% says nothing)
            std::snprintf(top5_part, sizeof top5_part, " top5 %.2f%%", 100 * ev.top5);
        if (row.contains("train_clean_acc"))
            std::snprintf(clean_part, sizeof clean_part, " (clean %.2f%%)", 100 * row["train_clean_acc"].get<double>());
        if (val_data.loader) std::snprintf(val_part, sizeof val_part, " | val loss %.4f acc %.2f%%", vev.loss, 100 * vev.top1);
        std::printf("epoch %lld: train loss %.4f acc %.2f%%%s%s | test loss %.4f acc %.2f%%%s | %.0f img/s\n",
                    (long long)epoch, train_loss, 100 * train_acc, clean_part, val_part, ev.loss, 100 * ev.top1,
                    top5_part, images / train_secs);
        if (cfg.stop_after_epoch > 0 && epoch >= cfg.stop_after_epoch && epoch < cfg.epochs) {
            std::printf("stopping after epoch %lld as asked (--stop-after-epoch); continue with --resume\n",
                        (long long)epoch);
            break;
        }
        if (epoch < cfg.epochs && stop_requested()) {
            std::printf("stopped (%s) after epoch %lld: checkpoint %s; continue with --resume\n",
                        stop_reason().c_str(), (long long)epoch, ckpt.string().c_str());
            stopped = true;
        }
    }
    export_model((out / "model.safetensors").string(), *model, st);  // with what eval/explain need to use it
    TrainSummary s;
    s.epochs = st.epoch;
    s.best_test_acc = st.best_test_acc;
    s.best_epoch = st.best_epoch;
    s.final_test_acc = st.last_test_acc;
    s.best_val_acc = st.best_val_acc;
    s.best_val_epoch = st.best_val_epoch;
    s.test_acc_at_best_val = st.test_acc_at_best_val;
    s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    s.stopped = stopped;
    s.signal = InterruptGuard::received();
    return s;
}

}  // namespace lrp::train
