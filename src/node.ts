/// <reference types="@webgpu/types" preserve="true" />
// wavelet-gpt/node: the parts that need Node's file system: the training loop with its
// checkpoints, logs and plots, and the backend chooser's cache of its measurements on disk.
export { train, namingFields, type TrainingOptions } from './train/api.js';
export { runTraining, checkSettings, curvesSvg, TRAIN_DEFAULTS, RESUME_OVERRIDES, type TrainSettings, type TrainLog, type LogEntry, type Resume, type TrainEvents, TrainingDivergedError } from './train/trainer.js';
export { saveCheckpoint, loadCheckpoint, CHECKPOINT_FILE, type Checkpoint } from './train/checkpoint.js';
export { readSafetensors, writeSafetensors } from './io/safetensors.js';
export { fileChoiceCache, choiceCachePath } from './io/choice_cache.js';
export { defaultCorpusText, defaultCorpusPath } from './data/corpus.js';
export { writeFileAtomic } from './io/atomic.js';
