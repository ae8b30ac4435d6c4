// wavelet-gpt/node: the parts that need Node's file system: the training loop with its
// checkpoints, logs and plots, and the dispatcher, which caches its measurements on disk.
export { train, checkSettings, curvesSvg, type TrainSettings, type TrainLog, type LogEntry, type Resume, TrainingDivergedError } from './train/trainer.js';
export { saveCheckpoint, loadCheckpoint, CHECKPOINT_FILE, type Checkpoint } from './train/checkpoint.js';
export { readSafetensors, writeSafetensors } from './io/safetensors.js';
export { dispatch, engineOptions, createEngine, dispatchCachePath, type Decision, type Timing } from './dispatch.js';
export { defaultCorpusText, defaultCorpusPath } from './data/corpus.js';
export { writeFileAtomic } from './io/atomic.js';
