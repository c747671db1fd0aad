# CLI tests of `lrpcu explain` and `lrpcu eval` (incl. --occlusion) on a tiny synthetic run's checkpoint, and of the
# --config/--resume errors that use it (included by tests/CMakeLists.txt, which defines LRP_CLI and LRP_CLI_OUT).

# `lrpcu explain` on a tiny synthetic run's checkpoint (trained once by the Cli.ExplainTrain fixture).
set(LRP_EXPLAIN_RUN ${LRP_CLI_OUT}/explain-run-$<CONFIG>)
set(LRP_CLI_DATA ${CMAKE_CURRENT_SOURCE_DIR}/data/cli)
add_test(NAME Cli.ExplainTrain COMMAND ${LRP_CLI} 0 "1 epochs"
         $<TARGET_FILE:lrpcu> train --config ${LRP_CLI_DATA}/tiny_synthetic.json --epochs 1 --out ${LRP_EXPLAIN_RUN})
add_test(NAME Cli.ExplainSamples COMMAND ${LRP_CLI} 0 "wrote .*relevance.npy \\(\\[2, 3, 32, 32\\]\\)"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --dataset synthetic
         --samples 2 --target label --overlay --device cpu --out ${LRP_EXPLAIN_RUN}/heatmaps)
add_test(NAME Cli.ExplainSamplesWroteFiles COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli_png_files.sh
         ${LRP_EXPLAIN_RUN}/heatmaps/heatmap_0001.png ${LRP_EXPLAIN_RUN}/heatmaps/overlay_0001.png)
add_test(NAME Cli.ExplainGammaWithoutGammaBoxWarns COMMAND ${LRP_CLI} 0 "--gamma is not a parameter of --composite epsilon_plus_flat; it changes nothing"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --dataset synthetic
         --samples 1 --gamma 3 --device cpu --out ${LRP_EXPLAIN_RUN}/gamma-unused)
set_tests_properties(Cli.ExplainGammaWithoutGammaBoxWarns PROPERTIES FIXTURES_REQUIRED cli_explain_run)
# zennit's excitation_backprop has no Epsilon rule; beta_smooth's beta must be > 0.
add_test(NAME Cli.ExplainExcitationBackpropEpsilonWarns COMMAND ${LRP_CLI} 0 "--epsilon is not a parameter of --composite excitation_backprop; it changes nothing"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --dataset synthetic
         --samples 1 --composite excitation_backprop --epsilon 0.1 --device cpu --out ${LRP_EXPLAIN_RUN}/excitation)
add_test(NAME Cli.ExplainBetaSmoothOutOfRange COMMAND ${LRP_CLI} 1 "--beta-smooth must be a finite number > 0 \\(got 0\\)"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --dataset synthetic
         --samples 1 --composite beta_smooth --beta-smooth 0 --device cpu --out ${LRP_EXPLAIN_RUN}/beta-zero)
set_tests_properties(Cli.ExplainExcitationBackpropEpsilonWarns Cli.ExplainBetaSmoothOutOfRange PROPERTIES
                     FIXTURES_REQUIRED cli_explain_run)
# eval --subset beyond the split: said, as train's --test-subset (it was capped silently).
add_test(NAME Cli.EvalSubsetBeyondTheSplitWarns COMMAND ${LRP_CLI} 0 "--subset 100000 exceeds the [0-9]+ images of the test split of synthetic: using all of them"
         $<TARGET_FILE:lrpcu> eval --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --dataset synthetic --subset 100000
         --device cpu)
set_tests_properties(Cli.EvalSubsetBeyondTheSplitWarns PROPERTIES FIXTURES_REQUIRED cli_explain_run)
add_test(NAME Cli.ExplainEmptyInputItem COMMAND ${LRP_CLI} 1 "an empty file name \\(a doubled or trailing comma\\?\\)"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors
         --input ${LRP_CLI_DATA}/rgb_32x32.png,,${LRP_CLI_DATA}/rgb_32x32.png --device cpu --out ${LRP_EXPLAIN_RUN}/empty-item)
set_tests_properties(Cli.ExplainEmptyInputItem PROPERTIES FIXTURES_REQUIRED cli_explain_run)
# --cmap: zennit's colour maps (the maps' heatmaps written through them); an unknown one is named with the known.
add_test(NAME Cli.ExplainZennitCmap COMMAND ${LRP_CLI} 0 "sample 1: predicted class .*heatmap_0001.png"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --dataset synthetic
         --samples 2 --cmap coldnhot --cmap-level 1.5 --overlay --device cpu --out ${LRP_EXPLAIN_RUN}/cmap)
add_test(NAME Cli.ExplainUnknownCmap COMMAND ${LRP_CLI} 1 "--cmap: unknown colour map 'jet' \\(zennit's: gray, .*coleus\\)"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --dataset synthetic
         --samples 1 --cmap jet --device cpu --out ${LRP_EXPLAIN_RUN}/cmap-bad)
add_test(NAME Cli.ExplainEmptyCmap COMMAND ${LRP_CLI} 2 "--cmap: the value is empty \\(an unset shell variable\\?\\)"
         sh -c "$<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --dataset synthetic \
                --samples 1 --cmap '' --device cpu --out ${LRP_EXPLAIN_RUN}/cmap-empty")
# A stabilizer that absorbs every contribution leaves all-zero maps: warned, not blank heatmaps without a word.
add_test(NAME Cli.ExplainAllZeroMapsWarn COMMAND ${LRP_CLI} 0 "the relevance of samples 0, 1 is zero in every pixel \\(composite epsilon_plus\\)"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --dataset synthetic
         --samples 2 --composite epsilon_plus --stabilizer 1e30 --device cpu --out ${LRP_EXPLAIN_RUN}/zero-maps)
# --epsilon when user rules took every layer the composite gave an Epsilon rule (here the classifier, its only one).
add_test(NAME Cli.ExplainEpsilonOfNoLayerWarns COMMAND ${LRP_CLI} 0 "--epsilon sets the Epsilon rules of composite epsilon_plus_flat, but the user rules took every layer that had one"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --dataset synthetic
         --samples 1 --epsilon 0.5 --rule dense=zplus --device cpu --out ${LRP_EXPLAIN_RUN}/epsilon-unused)
set_tests_properties(Cli.ExplainAllZeroMapsWarn Cli.ExplainEpsilonOfNoLayerWarns PROPERTIES FIXTURES_REQUIRED cli_explain_run)
set_tests_properties(Cli.ExplainZennitCmap Cli.ExplainUnknownCmap Cli.ExplainEmptyCmap
                     PROPERTIES FIXTURES_REQUIRED cli_explain_run)
add_test(NAME Cli.ConfigReuseWarnsOnlyWhatMatters COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli_config_reuse.sh
         ${LRP_EXPLAIN_RUN}/config-reuse $<TARGET_FILE:lrpcu> ${LRP_EXPLAIN_RUN}/config.json)
set_tests_properties(Cli.ConfigReuseWarnsOnlyWhatMatters PROPERTIES FIXTURES_REQUIRED cli_explain_run)
add_test(NAME Cli.ResumeSetsAsideWhatWentFurther COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli_resume_set_aside.sh
         ${LRP_CLI_OUT}/resume-set-aside $<TARGET_FILE:lrpcu>)
set_tests_properties(Cli.ResumeSetsAsideWhatWentFurther PROPERTIES FIXTURES_REQUIRED cli_runs_clean)
add_test(NAME Cli.ExplainImageFiles COMMAND ${LRP_CLI} 0 "sample 1: predicted class"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors
         --input ${LRP_CLI_DATA}/rgb_32x32.png,${LRP_CLI_DATA}/rgb_32x32.png --overlay --device cpu
         --out ${LRP_EXPLAIN_RUN}/images)
add_test(NAME Cli.ExplainUnknownComposite COMMAND ${LRP_CLI} nonzero "unknown composite 'epsilon_plus_flatt'; known: .*epsilon_plus_flat"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --dataset synthetic
         --samples 2 --composite epsilon_plus_flatt --device cpu --out ${LRP_EXPLAIN_RUN}/bad)
add_test(NAME Cli.ExplainWrongImageSize COMMAND ${LRP_CLI} nonzero "rgb_8x8.png' is 8x8 .*model takes 32x32"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors
         --input ${LRP_CLI_DATA}/rgb_8x8.png --device cpu --out ${LRP_EXPLAIN_RUN}/bad)
set_tests_properties(Cli.ExplainTrain PROPERTIES FIXTURES_SETUP cli_explain_run FIXTURES_REQUIRED cli_runs_clean)
add_test(NAME Cli.EvalValSplitOfARunWithout COMMAND ${LRP_CLI} 1 "--split val: .*records no validation split"
         $<TARGET_FILE:lrpcu> eval --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --split val --device cpu)
add_test(NAME Cli.ExplainValSplitOfARunWithout COMMAND ${LRP_CLI} 1 "--split val: .*records no validation split"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --split val --samples 2
         --device cpu --out ${LRP_EXPLAIN_RUN}/val-without)
add_test(NAME Cli.ExplainValSplitIsEvals COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli_explain_val.sh
         ${LRP_CLI_OUT}/explain-val $<TARGET_FILE:lrpcu>)
set_tests_properties(Cli.ExplainValSplitIsEvals PROPERTIES FIXTURES_REQUIRED cli_runs_clean)
add_test(NAME Cli.ExplainFolderDecodesItsImages COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli_explain_folder.sh
         ${LRP_CLI_OUT}/explain-folder $<TARGET_FILE:lrpcu>)
set_tests_properties(Cli.ExplainFolderDecodesItsImages PROPERTIES FIXTURES_REQUIRED cli_runs_clean)
# Black test images (all-zero maps): eval's faithfulness and occlusion say which images their figures are over.
add_test(NAME Cli.EvalConstantMapsAreCountedOut COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli_eval_constant_maps.sh
         ${LRP_CLI_OUT}/eval-constant-maps $<TARGET_FILE:lrpcu>)
set_tests_properties(Cli.EvalConstantMapsAreCountedOut PROPERTIES FIXTURES_REQUIRED cli_runs_clean)
add_test(NAME Cli.ExplainLabelTargetNeedsLabels COMMAND ${LRP_CLI} nonzero "--target label needs the inputs' labels: .*--labels"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors
         --input ${LRP_CLI_DATA}/rgb_32x32.png --target label --device cpu --out ${LRP_EXPLAIN_RUN}/bad)
# --split picks dataset images and --labels labels --input files: each with the other kind is refused, not ignored.
add_test(NAME Cli.ExplainSplitWithInputFiles COMMAND ${LRP_CLI} nonzero "--split selects dataset images \\(--samples N\\), not --input files"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --split train
         --input ${LRP_CLI_DATA}/rgb_32x32.png --device cpu --out ${LRP_EXPLAIN_RUN}/bad)
add_test(NAME Cli.ExplainLabelsWithSamples COMMAND ${LRP_CLI} nonzero "--labels gives the labels of --input files; --samples N takes the dataset's own"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --samples 2
         --labels ${LRP_CLI_DATA}/rgb_32x32.png --device cpu --out ${LRP_EXPLAIN_RUN}/bad)
add_test(NAME Cli.ExplainArchOtherThanTrained COMMAND ${LRP_CLI} nonzero "--arch vgg11, but .*checkpoint.safetensors was trained as resnet18"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --arch vgg11
         --dataset synthetic --samples 2 --device cpu --out ${LRP_EXPLAIN_RUN}/bad)
add_test(NAME Cli.ExplainExportedArchOtherThanTrained COMMAND ${LRP_CLI} nonzero "--arch vgg11, but .*model.safetensors was trained as resnet18"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/model.safetensors --arch vgg11
         --samples 2 --device cpu --out ${LRP_EXPLAIN_RUN}/bad)
add_test(NAME Cli.ExplainUndecodableInput COMMAND ${LRP_CLI} nonzero "edit_metadata.py: cannot decode image \\(not a PNG or JPEG file: it starts with( [0-9a-f][0-9a-f])+\\); lrpcu reads PNG and JPEG images, and this file is neither or is damaged$"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/model.safetensors
         --input ${CMAKE_CURRENT_SOURCE_DIR}/edit_metadata.py --device cpu --out ${LRP_EXPLAIN_RUN}/bad)
# The run's weights as a plain state_dict (PyTorch's kind: no metadata, so no recorded arch to check against).
add_test(NAME Cli.ExplainPlainWeights COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/edit_metadata.py
         ${LRP_EXPLAIN_RUN}/model.safetensors ${LRP_EXPLAIN_RUN}/plain.safetensors)
# ... and as if moved to a machine without the dataset it records (cifar10, no --data-dir): images are
# explained at their own size with the recorded normalisation.
add_test(NAME Cli.ExplainMovedWeights COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/edit_metadata.py
         ${LRP_EXPLAIN_RUN}/model.safetensors ${LRP_EXPLAIN_RUN}/moved.safetensors
         "lrpcu.model={\"arch\": \"resnet18\", \"width\": 2, \"dataset\": \"cifar10\"}")
set_tests_properties(Cli.ExplainPlainWeights Cli.ExplainMovedWeights PROPERTIES FIXTURES_SETUP cli_plain_weights
                     FIXTURES_REQUIRED cli_explain_run)
add_test(NAME Cli.ExplainImagesWithoutTheRecordedDataset COMMAND ${LRP_CLI} 0
         "note: cifar10, the dataset .*moved.safetensors records, cannot be read here"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/moved.safetensors --input ${LRP_CLI_DATA}/rgb_8x8.png
         --device cpu --out ${LRP_EXPLAIN_RUN}/moved-images)
set(LRP_PLAIN_EXPLAIN explain --weights ${LRP_EXPLAIN_RUN}/plain.safetensors --arch resnet18 --width 2 --device cpu)
# A --data-dir given now must load: no fallback to the images' own size.
add_test(NAME Cli.ExplainGivenDataDirMustLoad COMMAND ${LRP_CLI} nonzero "no-such-dir: data directory not found \\(CIFAR-10, test split\\)"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/moved.safetensors --input ${LRP_CLI_DATA}/rgb_8x8.png
         --data-dir ${LRP_EXPLAIN_RUN}/no-such-dir --device cpu --out ${LRP_EXPLAIN_RUN}/bad)
# Plain weights: the width comes from their first convolution (no --width), another one is refused, and so is a
# --num-classes their final layer contradicts.
add_test(NAME Cli.ExplainPlainWeightsTheirOwnWidth COMMAND ${LRP_CLI} 0 "wrote .*relevance.npy"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/plain.safetensors --arch resnet18
         --input ${LRP_CLI_DATA}/rgb_8x8.png --normalize imagenet --device cpu --out ${LRP_EXPLAIN_RUN}/plain-width)
add_test(NAME Cli.ExplainPlainWeightsOtherWidth COMMAND ${LRP_CLI} nonzero
         "--width 64, but .*plain.safetensors has first-stage width 2 \\(conv1.weight's 2 output channels\\)"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/plain.safetensors --arch resnet18 --width 64
         --input ${LRP_CLI_DATA}/rgb_8x8.png --normalize imagenet --device cpu --out ${LRP_EXPLAIN_RUN}/bad)
add_test(NAME Cli.ExplainNumClassesOtherThanTheWeights COMMAND ${LRP_CLI} nonzero
         "--num-classes 1000000000, but .*plain.safetensors has 10 outputs"
         $<TARGET_FILE:lrpcu> ${LRP_PLAIN_EXPLAIN} --num-classes 1000000000 --input ${LRP_CLI_DATA}/rgb_8x8.png
         --normalize imagenet --out ${LRP_EXPLAIN_RUN}/bad)
add_test(NAME Cli.ExplainInputDirectory COMMAND ${LRP_CLI} nonzero "--input: '.*' is a directory; give the image files"
         $<TARGET_FILE:lrpcu> ${LRP_PLAIN_EXPLAIN} --input ${LRP_CLI_DATA} --normalize imagenet --out ${LRP_EXPLAIN_RUN}/bad)
set_tests_properties(Cli.ExplainImagesWithoutTheRecordedDataset Cli.ExplainGivenDataDirMustLoad
                     Cli.ExplainPlainWeightsTheirOwnWidth Cli.ExplainPlainWeightsOtherWidth
                     Cli.ExplainNumClassesOtherThanTheWeights Cli.ExplainInputDirectory
                     PROPERTIES FIXTURES_REQUIRED "cli_explain_run;cli_plain_weights")
add_test(NAME Cli.ExplainWeightsOfAnotherArch COMMAND ${LRP_CLI} nonzero "tensors are missing: the weights are probably of another architecture"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/plain.safetensors --arch vgg11 --num-classes 10
         --dataset synthetic --samples 2 --device cpu --out ${LRP_EXPLAIN_RUN}/bad)
add_test(NAME Cli.ExplainLowAboveHigh COMMAND ${LRP_CLI} nonzero "--low must not exceed --high \\(channel 2: 2 > 1\\)"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --dataset synthetic
         --samples 2 --composite epsilon_gamma_box --low 0,0,2 --high 1 --device cpu --out ${LRP_EXPLAIN_RUN}/bad)
add_test(NAME Cli.ExplainBadEpsilon COMMAND ${LRP_CLI} nonzero "--epsilon must be a finite number >= 0 \\(got nan\\)"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --dataset synthetic
         --samples 2 --epsilon nan --device cpu --out ${LRP_EXPLAIN_RUN}/bad)
# User rule maps: assignment, equivalence with the composite's own rules, effect; and their errors.
add_test(NAME Cli.ExplainUserRules COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli_explain_rules.sh ${LRP_EXPLAIN_RUN}/rules
         $<TARGET_FILE:lrpcu> ${LRP_EXPLAIN_RUN}/checkpoint.safetensors)
add_test(NAME Cli.ExplainBatchesGiveOnePassMaps COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli_explain_batches.sh
         ${LRP_EXPLAIN_RUN}/batches $<TARGET_FILE:lrpcu> ${LRP_EXPLAIN_RUN}/checkpoint.safetensors)
add_test(NAME Cli.ExplainRefusesOverwriteUnlessForced COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli_explain_force.sh
         ${LRP_EXPLAIN_RUN}/force $<TARGET_FILE:lrpcu> ${LRP_EXPLAIN_RUN}/checkpoint.safetensors)
add_test(NAME Cli.ExplainNpyShapesThatDoNotFit COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli_explain_shapes.sh
         ${LRP_EXPLAIN_RUN}/shapes $<TARGET_FILE:lrpcu> ${LRP_EXPLAIN_RUN}/checkpoint.safetensors)
add_test(NAME Cli.ExplainRuleNotKeyValue COMMAND ${LRP_CLI} nonzero "--rule: 'gamma:0.5' is not KEY=RULE"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --dataset synthetic
         --samples 2 --rule gamma:0.5 --device cpu --out ${LRP_EXPLAIN_RUN}/bad)
add_test(NAME Cli.ExplainRuleUnknownLayerName COMMAND ${LRP_CLI} nonzero "--layer-rule layer9.conv1=flat: no layer named 'layer9.conv1' in the model"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --dataset synthetic
         --samples 2 --layer-rule layer9.conv1=flat --device cpu --out ${LRP_EXPLAIN_RUN}/bad)
add_test(NAME Cli.ExplainRuleLayerTwice COMMAND ${LRP_CLI} nonzero "--layer-rule: layer 'fc' is given twice"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --dataset synthetic
         --samples 2 --layer-rule fc=flat --layer-rule fc=pass --device cpu --out ${LRP_EXPLAIN_RUN}/bad)
add_test(NAME Cli.ExplainRuleBadGamma COMMAND ${LRP_CLI} nonzero "--gamma must be a finite number >= 0 \\(got -1\\)"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --dataset synthetic
         --samples 2 --gamma -1 --device cpu --out ${LRP_EXPLAIN_RUN}/bad)
set_tests_properties(Cli.ExplainSamples Cli.ExplainImageFiles Cli.ExplainUnknownComposite Cli.ExplainWrongImageSize
                     Cli.ExplainLabelTargetNeedsLabels Cli.ExplainSplitWithInputFiles Cli.ExplainLabelsWithSamples
                     Cli.ExplainArchOtherThanTrained Cli.ExplainExportedArchOtherThanTrained
                     Cli.ExplainUndecodableInput Cli.EvalValSplitOfARunWithout Cli.ExplainValSplitOfARunWithout
                     Cli.ExplainLowAboveHigh Cli.ExplainBadEpsilon Cli.ExplainUserRules Cli.ExplainRuleNotKeyValue
                     Cli.ExplainBatchesGiveOnePassMaps
                     Cli.ExplainRefusesOverwriteUnlessForced Cli.ExplainNpyShapesThatDoNotFit
                     Cli.ExplainRuleUnknownLayerName Cli.ExplainRuleLayerTwice Cli.ExplainRuleBadGamma
                     PROPERTIES FIXTURES_REQUIRED cli_explain_run)
# PyTorch weights (no recorded dataset) and image files: the images' own size, the --normalize statistics.
add_test(NAME Cli.ExplainPlainWeightsImages COMMAND ${LRP_CLI} 0 "wrote .*relevance.npy \\(\\[2, 3, 8, 8\\]\\)"
         $<TARGET_FILE:lrpcu> ${LRP_PLAIN_EXPLAIN} --input ${LRP_CLI_DATA}/rgb_8x8.png,${LRP_CLI_DATA}/rgb_8x8.png
         --normalize imagenet --overlay --out ${LRP_EXPLAIN_RUN}/plain-images)
add_test(NAME Cli.ExplainPlainWeightsImagesNeedTheNormalisation COMMAND ${LRP_CLI} nonzero
         "image --input: the normalisation the model expects is unknown: pass --normalize imagenet"
         $<TARGET_FILE:lrpcu> ${LRP_PLAIN_EXPLAIN} --input ${LRP_CLI_DATA}/rgb_8x8.png --out ${LRP_EXPLAIN_RUN}/bad)
add_test(NAME Cli.ExplainPlainWeightsImagesOfTwoSizes COMMAND ${LRP_CLI} nonzero
         "rgb_8x8.png' is 8x8 .*but the first --input '.*rgb_32x32.png' is 32x32; pass --resize/--crop"
         $<TARGET_FILE:lrpcu> ${LRP_PLAIN_EXPLAIN} --input ${LRP_CLI_DATA}/rgb_32x32.png,${LRP_CLI_DATA}/rgb_8x8.png
         --normalize 0.5/0.25 --out ${LRP_EXPLAIN_RUN}/bad)
set_tests_properties(Cli.ExplainWeightsOfAnotherArch Cli.ExplainPlainWeightsImages
                     Cli.ExplainPlainWeightsImagesNeedTheNormalisation Cli.ExplainPlainWeightsImagesOfTwoSizes
                     PROPERTIES FIXTURES_REQUIRED "cli_explain_run;cli_plain_weights")
set_tests_properties(Cli.ExplainSamplesWroteFiles PROPERTIES DEPENDS Cli.ExplainSamples FIXTURES_REQUIRED cli_explain_run)

# `lrpcu eval --occlusion` on the same tiny run's checkpoint: JSON keys and the PNG, no silent overwrite, bad flags.
set(LRP_OCCL_EVAL eval --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --subset 48 --batch-size 16 --device cpu
    --occlusion --occlusion-steps 4)
add_test(NAME Cli.EvalOcclusion COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli_occlusion.sh ${LRP_EXPLAIN_RUN}/occlusion
         $<TARGET_FILE:lrpcu> ${LRP_OCCL_EVAL} --json)
add_test(NAME Cli.EvalOcclusionRefusesOverwrite COMMAND ${LRP_CLI} 1 "occlusion.json' exists; pass --force"
         $<TARGET_FILE:lrpcu> ${LRP_OCCL_EVAL} --occlusion-out ${LRP_EXPLAIN_RUN}/occlusion/)
add_test(NAME Cli.EvalOcclusionBadPatch COMMAND ${LRP_CLI} 1 "patch must be in \\[1, 32\\] .*got 33"
         $<TARGET_FILE:lrpcu> ${LRP_OCCL_EVAL} --occlusion-patch 33 --occlusion-out ${LRP_EXPLAIN_RUN}/bad-occlusion/)
# Patches that do not tile the 32 x 32 images: said (the fractions count patches, not pixels).
add_test(NAME Cli.EvalOcclusionUntiledPatchesNoted COMMAND ${LRP_CLI} 0 "note: 5 px patches do not tile the 32 x 32 images"
         $<TARGET_FILE:lrpcu> ${LRP_OCCL_EVAL} --occlusion-patch 5 --occlusion-out ${LRP_EXPLAIN_RUN}/occlusion-5/)
add_test(NAME Cli.EvalOcclusionUnknownFill COMMAND ${LRP_CLI} 1 "unknown fill 'grey' \\(known: mean, reference"
         $<TARGET_FILE:lrpcu> ${LRP_OCCL_EVAL} --occlusion-fill grey --occlusion-out ${LRP_EXPLAIN_RUN}/bad-occlusion/)
add_test(NAME Cli.EvalOcclusionTargetOutOfRange COMMAND ${LRP_CLI} 1 "--occlusion-target: class 99 is outside the dataset's 10 classes"
         $<TARGET_FILE:lrpcu> ${LRP_OCCL_EVAL} --occlusion-target 99 --occlusion-out ${LRP_EXPLAIN_RUN}/bad-occlusion/)
# A fill far outside any image (the model's outputs would overflow) is refused up front (cli_nan_weights.sh: the
# outputs' own check).
add_test(NAME Cli.EvalOcclusionFillOutOfRange COMMAND ${LRP_CLI} 1 "--occlusion-fill: 'normalized:3e38' is 3e\\+38 in normalised units \\(channel 0\\), beyond"
         $<TARGET_FILE:lrpcu> ${LRP_OCCL_EVAL} --occlusion-fill normalized:3e38 --occlusion-out ${LRP_EXPLAIN_RUN}/bad-occlusion/)
add_test(NAME Cli.EvalFaithfulnessWholeImagePatch COMMAND ${LRP_CLI} 1 "--faithfulness-patch 32 covers the whole 32 x 32 image"
         $<TARGET_FILE:lrpcu> eval --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --subset 16 --device cpu
         --faithfulness --faithfulness-patch 32)
add_test(NAME Cli.EvalFaithfulnessFillOutOfRange COMMAND ${LRP_CLI} 1 "--faithfulness-fill: 'normalized:3e38' is 3e\\+38 in normalised units"
         $<TARGET_FILE:lrpcu> eval --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --subset 16 --device cpu
         --faithfulness --faithfulness-fill normalized:3e38)
# Text output, and an --occlusion-out naming a .json file: both files take its stem (curve.json, curve.png).
add_test(NAME Cli.EvalOcclusionTextAndFileStem COMMAND ${LRP_CLI} 0
         "wrote .*occlusion-text/curve\\.json and .*occlusion-text/curve\\.png"
         $<TARGET_FILE:lrpcu> ${LRP_OCCL_EVAL} --force --occlusion-out ${LRP_EXPLAIN_RUN}/occlusion-text/curve.json)
add_test(NAME Cli.EvalOcclusionTextTable COMMAND ${LRP_CLI} 0 "^ +1\\.0000 +64 +[0-9.]+% +[0-9.]+%$"
         $<TARGET_FILE:lrpcu> ${LRP_OCCL_EVAL} --force --occlusion-out ${LRP_EXPLAIN_RUN}/occlusion-text/table)
add_test(NAME Cli.EvalOcclusionFlagNeedsOcclusion COMMAND ${LRP_CLI} 2 "--occlusion-steps requires --occlusion"
         $<TARGET_FILE:lrpcu> eval --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --occlusion-steps 4)
# eval and explain normalise with the statistics the checkpoint recorded (eval's JSON states them); --normalize
# gives others (one value for all channels is expanded); bad values and channel counts are refused.
add_test(NAME Cli.EvalNormalizeGiven COMMAND ${LRP_CLI} 0 "^ +0\\.125,$"
         $<TARGET_FILE:lrpcu> eval --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --subset 8 --device cpu
         --normalize 0.125/0.25 --json)
add_test(NAME Cli.EvalNormalizeRecorded COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli_normalize.sh $<TARGET_FILE:lrpcu>
         ${LRP_EXPLAIN_RUN})
add_test(NAME Cli.EvalNormalizeUnknown COMMAND ${LRP_CLI} 1 "--normalize must be auto, data, imagenet"
         $<TARGET_FILE:lrpcu> eval --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --subset 8 --device cpu
         --normalize imagenett)
add_test(NAME Cli.ExplainNormalizeWrongChannels COMMAND ${LRP_CLI} 1 "has 2 mean/std values, but .* 3 channel"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --dataset synthetic
         --samples 2 --normalize 0.1,0.2/1,1 --device cpu --out ${LRP_EXPLAIN_RUN}/bad)
# A --width other than the checkpoint's is one clear error (it was ignored by explain, and eval listed every
# parameter's shape); a target or labels outside the classes are named as such, not as an input that does not fit.
add_test(NAME Cli.EvalWidthOtherThanTrained COMMAND ${LRP_CLI} 1 "--width 8: .* was trained with width 2"
         $<TARGET_FILE:lrpcu> eval --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --width 8 --device cpu)
add_test(NAME Cli.ExplainWidthOtherThanTrained COMMAND ${LRP_CLI} 1 "--width 8: .* was trained with width 2"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --width 8
         --input ${LRP_CLI_DATA}/rgb_32x32.png --device cpu --out ${LRP_EXPLAIN_RUN}/bad)
add_test(NAME Cli.ExplainTargetOutOfRange COMMAND ${LRP_CLI} 1 "error: [^ ]*target\\.cpp:[0-9]+: .*target class 10 is outside"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --target 10
         --input ${LRP_CLI_DATA}/rgb_32x32.png --device cpu --out ${LRP_EXPLAIN_RUN}/bad)
add_test(NAME Cli.ExplainNegativeNumClasses COMMAND ${LRP_CLI} 1 "--num-classes must be >= 1 \\(got -1"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --num-classes -1
         --input ${LRP_CLI_DATA}/rgb_32x32.png --device cpu --out ${LRP_EXPLAIN_RUN}/bad)
# --resize/--crop: only where images are resized (image folders, explain's PNG/JPEG inputs), never negative; a
# file name with commas is one --input (the list is split only where the whole is not a file).
add_test(NAME Cli.EvalResizeOnlyForFolders COMMAND ${LRP_CLI} 1
         "--resize/--crop apply to --dataset folder only \\(the dataset is synthetic\\)"
         $<TARGET_FILE:lrpcu> eval --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --resize 8 --device cpu)
add_test(NAME Cli.ExplainCropOnlyForImages COMMAND ${LRP_CLI} 1
         "--resize/--crop apply to PNG/JPEG inputs and --dataset folder only \\(--samples of synthetic\\)"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --samples 2 --crop 4
         --device cpu --out ${LRP_EXPLAIN_RUN}/bad)
add_test(NAME Cli.ExplainNegativeResize COMMAND ${LRP_CLI} 1 "--resize must be >= 0 \\(0: off\\), got -2"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --resize -2
         --input ${LRP_CLI_DATA}/rgb_32x32.png --device cpu --out ${LRP_EXPLAIN_RUN}/bad)
configure_file(${LRP_CLI_DATA}/rgb_32x32.png ${CMAKE_CURRENT_BINARY_DIR}/cli-data/red,32.png COPYONLY)
add_test(NAME Cli.ExplainInputNameWithComma COMMAND ${LRP_CLI} 0 "wrote .*relevance.npy"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_EXPLAIN_RUN}/checkpoint.safetensors --force
         --input ${CMAKE_CURRENT_BINARY_DIR}/cli-data/red,32.png --device cpu --out ${LRP_EXPLAIN_RUN}/comma)
set_tests_properties(Cli.EvalNormalizeGiven Cli.EvalNormalizeRecorded Cli.EvalNormalizeUnknown
                     Cli.ExplainNormalizeWrongChannels Cli.EvalWidthOtherThanTrained Cli.ExplainWidthOtherThanTrained
                     Cli.ExplainTargetOutOfRange Cli.ExplainNegativeNumClasses Cli.EvalResizeOnlyForFolders
                     Cli.ExplainCropOnlyForImages Cli.ExplainNegativeResize Cli.ExplainInputNameWithComma
                     PROPERTIES FIXTURES_REQUIRED cli_explain_run)
add_test(NAME Cli.ResumeWithoutCheckpointOrSettings COMMAND ${LRP_CLI} 1
         "--resume: there is no checkpoint in '.*no-such-run' to continue \\(is --out right\\?\\)"
         $<TARGET_FILE:lrpcu> train --out ${LRP_CLI_OUT}/no-such-run --resume --device cpu --epochs 30 --stream on)
add_test(NAME Cli.ConfigIsADirectory COMMAND ${LRP_CLI} 1 "--config: '.*' is a directory, not a JSON file"
         $<TARGET_FILE:lrpcu> train --config ${CMAKE_CURRENT_SOURCE_DIR})
add_test(NAME Cli.ConfigNestedTooDeep COMMAND ${LRP_CLI} 1 "--config '.*deep_config.json': JSON nested more than 64 levels deep"
         $<TARGET_FILE:lrpcu> train --config ${LRP_CLI_DATA}/deep_config.json --out ${LRP_CLI_OUT}/deep-config)
# --resume with other settings is refused, listing them, before any data is read (the data dir does not exist).
add_test(NAME Cli.ResumeWithOtherSettingsIsRefusedFirst COMMAND ${LRP_CLI} 1
         "dataset: checkpoint has .synthetic., now .cifar10."
         $<TARGET_FILE:lrpcu> train --config ${LRP_CLI_DATA}/tiny_synthetic.json --dataset cifar10
         --data-dir ${LRP_EXPLAIN_RUN}/no-such-dir --resume --out ${LRP_EXPLAIN_RUN})
set_tests_properties(Cli.ResumeWithOtherSettingsIsRefusedFirst PROPERTIES FIXTURES_REQUIRED cli_explain_run)
# The composite flags of --occlusion (rule maps, parameters): applied, recorded in occlusion.json, errors.
add_test(NAME Cli.EvalOcclusionUserRules COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli_occlusion_rules.sh
         ${LRP_EXPLAIN_RUN}/occlusion-rules $<TARGET_FILE:lrpcu> ${LRP_EXPLAIN_RUN}/checkpoint.safetensors)
set_tests_properties(Cli.EvalOcclusionUserRules PROPERTIES FIXTURES_REQUIRED cli_explain_run)
set_tests_properties(Cli.EvalOcclusion Cli.EvalOcclusionBadPatch Cli.EvalOcclusionUnknownFill Cli.EvalOcclusionUntiledPatchesNoted
                     Cli.EvalOcclusionTargetOutOfRange Cli.EvalOcclusionFillOutOfRange Cli.EvalFaithfulnessFillOutOfRange Cli.EvalFaithfulnessWholeImagePatch Cli.EvalOcclusionTextAndFileStem Cli.EvalOcclusionTextTable
                     PROPERTIES FIXTURES_REQUIRED cli_explain_run)
set_tests_properties(Cli.EvalOcclusionRefusesOverwrite PROPERTIES DEPENDS Cli.EvalOcclusion
                     FIXTURES_REQUIRED cli_explain_run)
