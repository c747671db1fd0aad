# CLI tests of the explanation-guided training methods (included by tests/CMakeLists.txt, which defines LRP_CLI,
# LRP_TINY_TRAIN and LRP_CLI_OUT): ISNet (and explain --flex), RRR, SGT, the decoy benchmark and eval's background measure.

# ISNet: the method's line, the authors' clipping by default, the batch and mask previews, flag errors and the warning
# for --isnet-* flags without --augment isnet.
add_test(NAME Cli.TrainIsnet COMMAND ${LRP_CLI} 0 "ISNet \\(LRP-Flex, isnet-edda.md A.7\\): loss 0.5 CE \\+ 0.5 heatmap loss; explained logit: label; LRP-epsilon 0.01, z\\^B on the first layer \\(bounds: raw 0 and 1\\);"
         $<TARGET_FILE:lrpcu> ${LRP_TINY_TRAIN} --augment isnet --isnet-p 0.5 --isnet-explain label --isnet-mask threshold:0.5
         --out ${LRP_CLI_OUT}/isnet)
add_test(NAME Cli.TrainIsnetClipsByDefault COMMAND ${LRP_CLI} 0 "\"clip-grad-norm\": ?1(\\.0)?,"
         ${CMAKE_COMMAND} -E cat ${LRP_CLI_OUT}/isnet/config.json)
add_test(NAME Cli.TrainIsnetWroteMaskPreview COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli_png_files.sh ${LRP_CLI_OUT}/isnet/first_batch_mask.png)
# A threshold that leaves some images without foreground: counted and warned about (their loss is a constant).
add_test(NAME Cli.TrainIsnetEmptyMasksWarn COMMAND ${LRP_CLI} 0 "epoch 1: [1-9][0-9]* of 64 training images had no foreground pixel; each adds a constant"
         $<TARGET_FILE:lrpcu> ${LRP_TINY_TRAIN} --augment isnet --isnet-mask threshold:0.999 --out ${LRP_CLI_OUT}/isnet-empty)
add_test(NAME Cli.TrainIsnetEmptyMasksMetric COMMAND ${LRP_CLI} 0 "\"isnet_empty_masks\":[1-9]"
         ${CMAKE_COMMAND} -E cat ${LRP_CLI_OUT}/isnet-empty/metrics.jsonl)
set_tests_properties(Cli.TrainIsnetEmptyMasksWarn PROPERTIES FIXTURES_REQUIRED cli_runs_clean
                     FIXTURES_SETUP cli_isnet_empty)
set_tests_properties(Cli.TrainIsnetEmptyMasksMetric PROPERTIES FIXTURES_REQUIRED cli_isnet_empty)
add_test(NAME Cli.TrainIsnetMetrics COMMAND ${LRP_CLI} 0 "\"isnet_foreground_fraction\":[0-9.e-]+,\"isnet_heat_loss\":[0-9.e+-]+,\"isnet_nonfinite_maps\":0"
         ${CMAKE_COMMAND} -E cat ${LRP_CLI_OUT}/isnet/metrics.jsonl)
add_test(NAME Cli.IsnetBadMask COMMAND ${LRP_CLI} 1 "--isnet-mask must be auto, threshold:<v> with v in \\[0, 1\\)"
         $<TARGET_FILE:lrpcu> ${LRP_TINY_TRAIN} --augment isnet --isnet-mask otsu --out ${LRP_CLI_OUT}/isnet-mask)
add_test(NAME Cli.IsnetBadFirstRule COMMAND ${LRP_CLI} 1 "--isnet-first-rule must be zb or epsilon \\(got 'zbox'\\)"
         $<TARGET_FILE:lrpcu> ${LRP_TINY_TRAIN} --augment isnet --isnet-first-rule zbox --out ${LRP_CLI_OUT}/isnet-first)
add_test(NAME Cli.IsnetFlagWithoutIsnet COMMAND ${LRP_CLI} 0 "--isnet-p applies to --augment isnet; with --augment none it changes nothing"
         $<TARGET_FILE:lrpcu> ${LRP_TINY_TRAIN} --isnet-p 0.2 --out ${LRP_CLI_OUT}/isnet-flag-unused)
add_test(NAME Cli.EvalBackground COMMAND ${LRP_CLI} 0 "share of \\|relevance\\| on the background: [0-9.]+ \\(epsilon_plus map of the label\\), [0-9.]+ \\(LRP-Flex map"
         $<TARGET_FILE:lrpcu> eval --weights ${LRP_CLI_OUT}/isnet/model.safetensors --device cpu --subset 16 --background
         --background-mask threshold:0.5 --background-composite epsilon_plus)
add_test(NAME Cli.EvalBackgroundAllForeground COMMAND ${LRP_CLI} 0 "warning: the mask \\(threshold:0\\) marks every pixel as foreground: there is no background"
         $<TARGET_FILE:lrpcu> eval --weights ${LRP_CLI_OUT}/isnet/model.safetensors --device cpu --subset 4 --background
         --background-mask threshold:0)
add_test(NAME Cli.EvalBackgroundZb COMMAND ${LRP_CLI} 0 "\"share_background_flex_zb\": ?[0-9.e-]+"
         $<TARGET_FILE:lrpcu> eval --weights ${LRP_CLI_OUT}/isnet/model.safetensors --device cpu --subset 16 --background
         --background-mask threshold:0.5 --json)
# The LRP-Flex maps at LRP deep supervision's points: the ResNet stages by default, or the named modules.
add_test(NAME Cli.EvalBackgroundHidden COMMAND ${LRP_CLI} 0 "LRP-Flex map at the hidden layers \\(as --isnet-lds shrinks the mask\\): layer1 [0-9.]+ layer2 [0-9.]+ layer3 [0-9.]+ layer4 [0-9.]+ on the background"
         $<TARGET_FILE:lrpcu> eval --weights ${LRP_CLI_OUT}/isnet/model.safetensors --device cpu --subset 16 --background
         --background-mask threshold:0.5)
add_test(NAME Cli.EvalBackgroundLayers COMMAND ${LRP_CLI} 0 "\"layer\": \"layer1.0\""
         $<TARGET_FILE:lrpcu> eval --weights ${LRP_CLI_OUT}/isnet/model.safetensors --device cpu --subset 16 --background
         --background-mask threshold:0.5 --background-layers layer1.0,layer2 --json)
add_test(NAME Cli.EvalBackgroundLayersDefault COMMAND ${LRP_CLI} 0 "hidden layers \\(as --isnet-lds shrinks the mask\\): layer1 [0-9.]+ layer2 [0-9.]+ layer3"
         $<TARGET_FILE:lrpcu> eval --weights ${LRP_CLI_OUT}/isnet/model.safetensors --device cpu --subset 16 --background
         --background-mask threshold:0.5 --background-layers default)
add_test(NAME Cli.EvalBackgroundBadLayer COMMAND ${LRP_CLI} 1 "--background-layers: the model has no module named 'nope'"
         $<TARGET_FILE:lrpcu> eval --weights ${LRP_CLI_OUT}/isnet/model.safetensors --device cpu --subset 16 --background
         --background-layers layer1,nope)
add_test(NAME Cli.ExplainFlex COMMAND ${LRP_CLI} 0 "with ISNet's LRP-Flex map \\(epsilon 0.01, z\\^B on the first layer\\), target label"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_CLI_OUT}/isnet/model.safetensors --device cpu --samples 2 --target label
         --flex zb --force --out ${LRP_CLI_OUT}/isnet-flex-maps)
add_test(NAME Cli.ExplainFlexLayers COMMAND ${LRP_CLI} 0 "wrote the maps at hidden layers \\(hidden_<layer>.npy and .png, listed in hidden_maps.txt\\): layer1 \\[2, 2, 32, 32\\], layer2 \\[2, 4, 16, 16\\], layer3 \\[2, 8, 8, 8\\], layer4 \\[2, 16, 4, 4\\]"
         sh -c "$<TARGET_FILE:lrpcu> explain --weights ${LRP_CLI_OUT}/isnet/model.safetensors --device cpu --samples 2 --target label --flex zb --flex-layers default --force --out ${LRP_CLI_OUT}/isnet-flex-layers && ls ${LRP_CLI_OUT}/isnet-flex-layers/hidden_layer1.npy ${LRP_CLI_OUT}/isnet-flex-layers/hidden_layer4_0001.png")
add_test(NAME Cli.ExplainFlexLayersDefaultOrNames COMMAND ${LRP_CLI} 1 "--flex-layers: 'default' \\(the model's own points\\) or module names, not both"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_CLI_OUT}/isnet/model.safetensors --device cpu --samples 2
         --flex zb --flex-layers default,layer1 --out ${LRP_CLI_OUT}/isnet-flex-layers-bad)
add_test(NAME Cli.ExplainFlexWithComposite COMMAND ${LRP_CLI} 1 "--flex writes ISNet's LRP-Flex map, whose rules are fixed: --composite does not apply"
         $<TARGET_FILE:lrpcu> explain --weights ${LRP_CLI_OUT}/isnet/model.safetensors --device cpu --samples 2
         --flex epsilon --composite epsilon_plus --out ${LRP_CLI_OUT}/isnet-flex-bad)
add_test(NAME Cli.EvalBackgroundBadMask COMMAND ${LRP_CLI} 1 "--background-mask must be auto, threshold:<v> with v in \\[0, 1\\) or data, got 'x'"
         $<TARGET_FILE:lrpcu> eval --weights ${LRP_CLI_OUT}/isnet/model.safetensors --device cpu --background
         --background-mask x)
add_test(NAME Cli.TrainIsnetSelective COMMAND ${LRP_CLI} 0 "explained quantity: log\\(p \\+ e\\) - log\\(1 - p \\+ e\\) of the lowest logit's probability p \\(Selective ISNet\\), e 0.001; LRP-epsilon 0.01, epsilon to the raw input;"
         $<TARGET_FILE:lrpcu> ${LRP_TINY_TRAIN} --augment isnet --isnet-explain selective --isnet-selective-eps 0.001
         --isnet-first-rule epsilon
         --isnet-mask threshold:0.5 --out ${LRP_CLI_OUT}/isnet-selective)
add_test(NAME Cli.TrainIsnetSelectiveSoftmin COMMAND ${LRP_CLI} 0 "explained quantity: the lowest logit against the others, by the LRP Block's softmin over the logit differences"
         $<TARGET_FILE:lrpcu> ${LRP_TINY_TRAIN} --augment isnet --isnet-explain selective-softmin
         --isnet-mask threshold:0.5 --out ${LRP_CLI_OUT}/isnet-selective-softmin)
set_tests_properties(Cli.TrainIsnetSelectiveSoftmin PROPERTIES FIXTURES_REQUIRED cli_runs_clean)
add_test(NAME Cli.TrainIsnetAllClasses COMMAND ${LRP_CLI} 0 "explained logits: every class, one map each \\(the original ISNet"
         $<TARGET_FILE:lrpcu> ${LRP_TINY_TRAIN} --augment isnet --isnet-explain all --isnet-mask threshold:0.5
         --out ${LRP_CLI_OUT}/isnet-all)
# Faster ISNet's hybrid foreground term: the log line; a bad mode.
add_test(NAME Cli.TrainIsnetHybridForeground COMMAND ${LRP_CLI} 0 "C1 1, C2 25, hybrid above C2 \\(Faster ISNet: linear past C1 \\+ C2\\); foreground"
         $<TARGET_FILE:lrpcu> ${LRP_TINY_TRAIN} --augment isnet --isnet-foreground hybrid --isnet-mask threshold:0.5
         --out ${LRP_CLI_OUT}/isnet-hybrid)
add_test(NAME Cli.IsnetBadForeground COMMAND ${LRP_CLI} 1 "--isnet-foreground must be l2, l1 or hybrid \\(got 'l3'\\)"
         $<TARGET_FILE:lrpcu> ${LRP_TINY_TRAIN} --augment isnet --isnet-foreground l3 --out ${LRP_CLI_OUT}/isnet-bad-fg)
set_tests_properties(Cli.TrainIsnetHybridForeground Cli.IsnetBadForeground PROPERTIES FIXTURES_REQUIRED cli_runs_clean)
# LRP deep supervision: its log line, each layer's loss in the metrics, a bad decay.
add_test(NAME Cli.TrainIsnetLds COMMAND ${LRP_CLI} 0 "; LRP deep supervision \\(hidden maps too\\), GWRP decay 0.5 over the layers;"
         $<TARGET_FILE:lrpcu> ${LRP_TINY_TRAIN} --augment isnet --isnet-lds true --isnet-lds-decay 0.5
         --isnet-mask threshold:0.5 --out ${LRP_CLI_OUT}/isnet-lds)
add_test(NAME Cli.TrainIsnetLdsMetrics COMMAND ${LRP_CLI} 0 "\"isnet_layer_losses\":\\{\"input\":[0-9.e+-]+,\"layer1\":[0-9.e+-]+,\"layer2\":[0-9.e+-]+,\"layer3\":[0-9.e+-]+,\"layer4\":[0-9.e+-]+\\}"
         ${CMAKE_COMMAND} -E cat ${LRP_CLI_OUT}/isnet-lds/metrics.jsonl)
set_tests_properties(Cli.TrainIsnetLdsMetrics PROPERTIES DEPENDS Cli.TrainIsnetLds)
add_test(NAME Cli.TrainIsnetLdsLayers COMMAND ${LRP_CLI} 0 "LRP deep supervision \\(hidden maps too at layer1.0, layer3\\)"
         $<TARGET_FILE:lrpcu> ${LRP_TINY_TRAIN} --augment isnet --isnet-lds true --isnet-lds-layers layer1.0,layer3
         --isnet-mask threshold:0.5 --out ${LRP_CLI_OUT}/isnet-lds-layers)
add_test(NAME Cli.TrainIsnetLdsLayersMetrics COMMAND ${LRP_CLI} 0 "\"isnet_layer_losses\":\\{\"input\":[0-9.e+-]+,\"layer1.0\":[0-9.e+-]+,\"layer3\":[0-9.e+-]+\\}"
         ${CMAKE_COMMAND} -E cat ${LRP_CLI_OUT}/isnet-lds-layers/metrics.jsonl)
set_tests_properties(Cli.TrainIsnetLdsLayersMetrics PROPERTIES DEPENDS Cli.TrainIsnetLdsLayers)
add_test(NAME Cli.IsnetLdsBadLayer COMMAND ${LRP_CLI} 1 "LRP deep supervision: 'fc' \\(Linear\\) ends in Linear 'fc', not in a ReLU"
         $<TARGET_FILE:lrpcu> ${LRP_TINY_TRAIN} --augment isnet --isnet-lds true --isnet-lds-layers fc
         --out ${LRP_CLI_OUT}/isnet-lds-bad-layer)
add_test(NAME Cli.TrainIsnetLdsAllClasses COMMAND ${LRP_CLI} 0 "every class, one map each.*LRP deep supervision \\(hidden maps too\\), GWRP decay 0.8 over the layers, each class's pass run twice"
         $<TARGET_FILE:lrpcu> ${LRP_TINY_TRAIN} --augment isnet --isnet-lds true --isnet-explain all
         --out ${LRP_CLI_OUT}/isnet-lds-all)
add_test(NAME Cli.IsnetBadLdsDecay COMMAND ${LRP_CLI} 1 "--isnet-lds-decay must be in \\[0, 1\\] \\(got 2\\)"
         $<TARGET_FILE:lrpcu> ${LRP_TINY_TRAIN} --augment isnet --isnet-lds true --isnet-lds-decay 2
         --out ${LRP_CLI_OUT}/isnet-lds-bad)
set_tests_properties(Cli.TrainIsnetSelective Cli.TrainIsnetAllClasses Cli.TrainIsnetLds Cli.TrainIsnetLdsMetrics
                     Cli.TrainIsnetLdsAllClasses Cli.IsnetBadLdsDecay Cli.TrainIsnetLdsLayers
                     Cli.TrainIsnetLdsLayersMetrics Cli.IsnetLdsBadLayer PROPERTIES FIXTURES_REQUIRED cli_runs_clean)
# Right for the Right Reasons from the command line: the step's log line, its metrics, a bad mask, an unused flag.
add_test(NAME Cli.TrainRrr COMMAND ${LRP_CLI} 0 "RRR \\(Right for the Right Reasons, Ross et al. 2017\\): loss CE \\+ 500 \\* sum over background pixels of \\(d sum_k log p_k / dx\\)\\^2, x in 0-255 pixel units"
         $<TARGET_FILE:lrpcu> ${LRP_TINY_TRAIN} --augment rrr --rrr-lambda 500 --rrr-mask threshold:0.5 --out ${LRP_CLI_OUT}/rrr)
add_test(NAME Cli.TrainRrrMetrics COMMAND ${LRP_CLI} 0 "\"rrr_foreground_fraction\":[0-9.e-]+,\"rrr_penalty\":[0-9.e+-]+"
         ${CMAKE_COMMAND} -E cat ${LRP_CLI_OUT}/rrr/metrics.jsonl)
set_tests_properties(Cli.TrainRrrMetrics PROPERTIES DEPENDS Cli.TrainRrr)
add_test(NAME Cli.RrrBadMask COMMAND ${LRP_CLI} 1 "--rrr-mask must be auto, threshold:<v> with v in \\[0, 1\\) or data \\(got 'otsu'\\)"
         $<TARGET_FILE:lrpcu> ${LRP_TINY_TRAIN} --augment rrr --rrr-mask otsu --out ${LRP_CLI_OUT}/rrr-bad-mask)
add_test(NAME Cli.RrrFlagWithoutRrr COMMAND ${LRP_CLI} 0 "--rrr-lambda applies to --augment rrr; with --augment none it changes nothing"
         $<TARGET_FILE:lrpcu> ${LRP_TINY_TRAIN} --rrr-lambda 2 --out ${LRP_CLI_OUT}/rrr-unused)
set_tests_properties(Cli.TrainRrr Cli.TrainRrrMetrics Cli.RrrBadMask Cli.RrrFlagWithoutRrr PROPERTIES
                     FIXTURES_REQUIRED cli_runs_clean)
# Saliency Guided Training from the command line: the flags reach the step (its log line), a bad fill names the flag,
# and an SGT flag without --augment sgt is reported as unused.
add_test(NAME Cli.TrainSgt COMMAND ${LRP_CLI} 0 "per image the 25 % least salient pixels \\(\\|channel sum of the LRP epsilon_plus_flat of the label\\|\\) filled with the image channel's mean; loss CE\\(clean\\) \\+ 0.5 KL\\(clean \\|\\| masked\\), the clean prediction detached"
         $<TARGET_FILE:lrpcu> ${LRP_TINY_TRAIN} --augment sgt --sgt-frac 0.25 --sgt-lambda 0.5 --sgt-saliency epsilon_plus_flat
         --sgt-abs true --sgt-fill image-mean --sgt-detach-clean true --out ${LRP_CLI_OUT}/sgt)
set_tests_properties(Cli.TrainSgt PROPERTIES FIXTURES_REQUIRED cli_runs_clean)
add_test(NAME Cli.SgtBadFill COMMAND ${LRP_CLI} 1 "--sgt-fill must be random, image-mean, mean, reference, raw:<v> or normalized:<v> \\(got 'noise'\\)"
         $<TARGET_FILE:lrpcu> ${LRP_TINY_TRAIN} --augment sgt --sgt-fill noise --out ${LRP_CLI_OUT}/sgt-bad-fill)
add_test(NAME Cli.SgtFlagWithoutSgt COMMAND ${LRP_CLI} 0 "--sgt-lambda applies to --augment sgt; with --augment none it changes nothing"
         $<TARGET_FILE:lrpcu> ${LRP_TINY_TRAIN} --sgt-lambda 2 --out ${LRP_CLI_OUT}/sgt-unused)
# The pixels masked per image, named: a fraction below one pixel still masks one.
add_test(NAME Cli.SgtTinyFractionMasksOnePixel COMMAND ${LRP_CLI} 0 "\\(1 of the 1024 pixels of a 32 x 32 image: at least one, more than --sgt-frac gives\\)"
         $<TARGET_FILE:lrpcu> ${LRP_TINY_TRAIN} --augment sgt --sgt-frac 0.0001 --out ${LRP_CLI_OUT}/sgt-tiny)
set_tests_properties(Cli.SgtBadFill Cli.SgtFlagWithoutSgt Cli.SgtTinyFractionMasksOnePixel PROPERTIES
                     FIXTURES_REQUIRED cli_runs_clean)
# --isnet-calibrate: C1 and C2 measured on a model of the same arch (here the ISNet run's), and refused with --isnet-c1.
add_test(NAME Cli.TrainIsnetCalibrated COMMAND ${LRP_CLI} 0 "ISNet calibration: heatmap totals of 64 images: mean [0-9.e+-]+, stdev [0-9.e+-]+ -> C1 [0-9.e+-]+ .* C2 [0-9.e+-]+"
         $<TARGET_FILE:lrpcu> ${LRP_TINY_TRAIN} --augment isnet --isnet-mask threshold:0.5
         --isnet-calibrate ${LRP_CLI_OUT}/isnet/model.safetensors --out ${LRP_CLI_OUT}/isnet-calibrated)
add_test(NAME Cli.IsnetCalibrateWithC1 COMMAND ${LRP_CLI} 1 "--isnet-calibrate measures C1 and C2, so --isnet-c1 2 and --isnet-c2 25 would not be used"
         $<TARGET_FILE:lrpcu> ${LRP_TINY_TRAIN} --augment isnet --isnet-c1 2
         --isnet-calibrate ${LRP_CLI_OUT}/isnet/model.safetensors --out ${LRP_CLI_OUT}/isnet-calibrate-c1)
set_tests_properties(Cli.EvalBackground Cli.EvalBackgroundAllForeground Cli.EvalBackgroundZb Cli.EvalBackgroundHidden Cli.EvalBackgroundLayers
                     Cli.EvalBackgroundLayersDefault Cli.EvalBackgroundBadLayer Cli.ExplainFlexLayers Cli.ExplainFlexLayersDefaultOrNames
                     Cli.ExplainFlex Cli.ExplainFlexWithComposite Cli.EvalBackgroundBadMask Cli.TrainIsnetCalibrated PROPERTIES DEPENDS Cli.TrainIsnet
                     FIXTURES_REQUIRED cli_runs_clean)
set_tests_properties(Cli.TrainIsnet Cli.IsnetBadMask Cli.IsnetBadFirstRule Cli.IsnetFlagWithoutIsnet Cli.IsnetCalibrateWithC1 PROPERTIES
                     FIXTURES_REQUIRED cli_runs_clean)
set_tests_properties(Cli.TrainIsnetWroteMaskPreview Cli.TrainIsnetMetrics Cli.TrainIsnetClipsByDefault PROPERTIES DEPENDS Cli.TrainIsnet
                     FIXTURES_REQUIRED cli_runs_clean)
# Decoy benchmark: the swatch on the training and test splits, ISNet with it, eval with any shade; flag errors.
add_test(NAME Cli.TrainDecoyIsnet COMMAND ${LRP_CLI} 0 "train split resident on cpu: 64 images \\([0-9.]+ KiB as uint8\\); decoy swatch 3x3 in a corner, shade of the label \\(Ross et al. 2017; seed 7\\)"
         $<TARGET_FILE:lrpcu> ${LRP_TINY_TRAIN} --decoy label --decoy-size 3 --decoy-seed 7 --augment isnet
         --isnet-mask threshold:0.5 --out ${LRP_CLI_OUT}/decoy)
add_test(NAME Cli.TrainDecoyTestSplit COMMAND ${LRP_CLI} 0 "test split resident on cpu: 32 images \\([0-9.]+ KiB as uint8\\); decoy swatch 4x4 in a corner, shade of a random class \\(Ross et al. 2017; seed 0\\)"
         $<TARGET_FILE:lrpcu> ${LRP_TINY_TRAIN} --decoy random --out ${LRP_CLI_OUT}/decoy-test)
add_test(NAME Cli.TrainDecoyCleanTestSplit COMMAND ${LRP_CLI} 0 "test split resident on cpu: 32 images \\([0-9.]+ KiB as uint8\\)$"
         $<TARGET_FILE:lrpcu> ${LRP_TINY_TRAIN} --decoy label --decoy-test none --out ${LRP_CLI_OUT}/decoy-clean-test)
add_test(NAME Cli.EvalDecoy COMMAND ${LRP_CLI} 0 "^images with a decoy swatch 3x3 in a corner, shade of the label \\(Ross et al. 2017; seed 7\\)"
         $<TARGET_FILE:lrpcu> eval --weights ${LRP_CLI_OUT}/decoy/model.safetensors --device cpu --subset 16 --decoy label)
# eval's default --decoy auto: the test split as the run drew it (random shades), the training split with the label's.
add_test(NAME Cli.EvalDecoyAuto COMMAND ${LRP_CLI} 0 "^images with a decoy swatch 3x3 in a corner, shade of a random class \\(Ross et al. 2017; seed 7\\) \\(--decoy auto: as the weights' run drew them on this split\\)"
         $<TARGET_FILE:lrpcu> eval --weights ${LRP_CLI_OUT}/decoy/model.safetensors --device cpu --subset 16)
add_test(NAME Cli.EvalDecoyAutoTrainSplit COMMAND ${LRP_CLI} 0 "^images with a decoy swatch 3x3 in a corner, shade of the label"
         $<TARGET_FILE:lrpcu> eval --weights ${LRP_CLI_OUT}/decoy/model.safetensors --device cpu --subset 16 --split train)
add_test(NAME Cli.EvalDecoyBackground COMMAND ${LRP_CLI} 0 "share of \\|relevance\\| on the background"
         $<TARGET_FILE:lrpcu> eval --weights ${LRP_CLI_OUT}/decoy/model.safetensors --device cpu --subset 16 --decoy label
         --background --background-mask threshold:0.5)
# --background-mask data: the dataset masks alone (every pixel but the swatch); refused for images without them.
add_test(NAME Cli.EvalDecoyBackgroundDataMask COMMAND ${LRP_CLI} 0 "foreground data: 99.1% of the pixels"
         $<TARGET_FILE:lrpcu> eval --weights ${LRP_CLI_OUT}/decoy/model.safetensors --device cpu --subset 16 --decoy label
         --background --background-mask data)
add_test(NAME Cli.EvalBackgroundDataMaskNeedsMasks COMMAND ${LRP_CLI} 1 "--background-mask data takes the foreground from the dataset's masks"
         $<TARGET_FILE:lrpcu> eval --weights ${LRP_CLI_OUT}/decoy/model.safetensors --device cpu --subset 16 --decoy none
         --background --background-mask data)
add_test(NAME Cli.EvalDecoyBad COMMAND ${LRP_CLI} 1 "--decoy must be auto, none, label or random \\(got 'x'\\)"
         $<TARGET_FILE:lrpcu> eval --weights ${LRP_CLI_OUT}/decoy/model.safetensors --device cpu --decoy x)
add_test(NAME Cli.EvalDecoySizeWithoutDecoy COMMAND ${LRP_CLI} 1 "--decoy-size/--decoy-seed apply with --decoy label or random"
         $<TARGET_FILE:lrpcu> eval --weights ${LRP_CLI_OUT}/decoy/model.safetensors --device cpu --decoy none --decoy-size 2)
# explain --decoy: the swatches eval draws, auto as the run drew them; refused for --input files.
add_test(NAME Cli.ExplainDecoy COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli_explain_decoy.sh ${LRP_CLI_OUT}/explain-decoy
         $<TARGET_FILE:lrpcu> ${LRP_CLI_OUT}/decoy/model.safetensors)
set_tests_properties(Cli.EvalDecoy Cli.EvalDecoyAuto Cli.EvalDecoyAutoTrainSplit Cli.EvalDecoyBackground Cli.EvalDecoyBad
                     Cli.EvalDecoySizeWithoutDecoy Cli.ExplainDecoy Cli.EvalDecoyBackgroundDataMask
                     Cli.EvalBackgroundDataMaskNeedsMasks PROPERTIES DEPENDS Cli.TrainDecoyIsnet
                     FIXTURES_REQUIRED cli_runs_clean)
add_test(NAME Cli.DecoyBadShade COMMAND ${LRP_CLI} 1 "--decoy must be none, label or random \\(got 'blue'\\)"
         $<TARGET_FILE:lrpcu> ${LRP_TINY_TRAIN} --decoy blue --out ${LRP_CLI_OUT}/decoy-bad)
add_test(NAME Cli.DecoyTooLarge COMMAND ${LRP_CLI} 1 "a 40x40 swatch does not fit the 32x32 images of 'synthetic'"
         $<TARGET_FILE:lrpcu> ${LRP_TINY_TRAIN} --decoy label --decoy-size 40 --out ${LRP_CLI_OUT}/decoy-large)
add_test(NAME Cli.DecoyFlagWithoutDecoy COMMAND ${LRP_CLI} 0 "--decoy-size applies with --decoy label or random; with --decoy none it changes nothing"
         $<TARGET_FILE:lrpcu> ${LRP_TINY_TRAIN} --decoy-size 3 --out ${LRP_CLI_OUT}/decoy-unused)
set_tests_properties(Cli.TrainDecoyIsnet Cli.TrainDecoyTestSplit Cli.TrainDecoyCleanTestSplit Cli.DecoyBadShade Cli.DecoyTooLarge Cli.DecoyFlagWithoutDecoy PROPERTIES
                     FIXTURES_REQUIRED cli_runs_clean)
