// `wavelet-gpt train`: trains, shows progress, evaluates, checkpoints, and prints a sample.

import { WaveletInputError } from '../errors.js';
import { continueTokens } from '../infer/continue.js';
import { checkSampling } from '../infer/sampling.js';
import { SeededRandom } from '../model/random.js';
import { ProgressBar } from '../report/progress.js';
import { train, type TrainSettings } from '../train/trainer.js';
import type { Corpus } from '../train/data.js';
import { writeFileAtomic } from '../io/atomic.js';

export const TRAIN_OPTIONS = [
  'data', 'tokenizer', 'preset', 'wavelet', 'context', 'layers', 'width', 'heads', 'feed-forward', 'head-dense', 'backend', 'steps', 'batch', 'accumulate', 'lr', 'min-lr',
  'warmup', 'schedule', 'eval-every', 'eval-batches', 'seed', 'out', 'resume', 'sample', 'temperature',
];

export const TRAIN_USAGE = `  train [--data FILE] [--tokenizer char|byte] [--preset tiny|paper-text8] [--wavelet haar|learnable|ema|none]
        [--backend auto|webgpu|wasm|js] [--steps N] [--batch B] [--accumulate K]
        [--context T] [--layers L] [--width E] [--heads H] [--feed-forward F] [--head-dense D]  (free sizes)
        [--lr 3e-4] [--min-lr 1e-5] [--warmup N] [--schedule cosine|plateau|constant]
        [--eval-every N] [--eval-batches N] [--seed S] [--out DIR] [--sample CHARS] [--temperature 0.8]
  train --resume DIR [--steps N] [--lr R] [--min-lr R]
                           trains a model (default: a tiny char-level WaveletGPT on Moby-Dick), writes
                           DIR/checkpoint.safetensors, DIR/log.json, DIR/curves.svg; --resume continues a run
                           with its own settings (those given again override them)`;

export function number(options: Record<string, string>, name: string, fallback: number): number {
  if (options[name] === undefined) return fallback;
  const value = Number(options[name]);
  if (!Number.isFinite(value)) throw new WaveletInputError(`--${name}: expected a number, found '${options[name]}'`);
  return value;
}

/** TrainSettings from the command line's options, with the defaults of `wavelet-gpt train`. */
export function trainSettings(options: Record<string, string>): TrainSettings {
  return {
    data: options.data,
    tokenizer: (options.tokenizer ?? 'char') as TrainSettings['tokenizer'],
    preset: options.preset ?? 'tiny',
    wavelet: (options.wavelet ?? 'haar') as TrainSettings['wavelet'],
    sizes: Object.fromEntries(
      (
        [
          ['context', 'context'],
          ['layers', 'layers'],
          ['width', 'width'],
          ['heads', 'heads'],
          ['feed-forward', 'feedForward'],
          ['head-dense', 'headDense'],
        ] as const
      )
        .filter(([flag]) => options[flag] !== undefined)
        .map(([flag, field]) => [field, number(options, flag, 0)]),
    ),
    backend: (options.backend ?? 'auto') as TrainSettings['backend'],
    steps: number(options, 'steps', 300),
    batch: number(options, 'batch', 8),
    accumulate: number(options, 'accumulate', 1),
    lr: number(options, 'lr', 3e-3),
    minLr: number(options, 'min-lr', 1e-4),
    warmup: number(options, 'warmup', 20),
    schedule: (options.schedule ?? 'cosine') as TrainSettings['schedule'],
    evalEvery: number(options, 'eval-every', 50),
    evalBatches: number(options, 'eval-batches', 4),
    seed: number(options, 'seed', 1),
    out: options.out ?? 'runs/train',
  };
}

export async function runTrain(options: Record<string, string>): Promise<void> {
  const settings = trainSettings(options);
  let bar: ProgressBar | undefined;
  let corpusInfo: Corpus | undefined;
  let sample: number[] = [];
  const count = number(options, 'sample', 200);
  const temperature = number(options, 'temperature', 0.8);
  const log = await train(
    settings,
    {
      start({ config, corpus, model, choice, fromStep, parameters }) {
        corpusInfo = corpus;
        const structure = config.wavelet ? `WaveletGPT (${config.wavelet.form})` : 'GPT baseline';
        console.error(`${structure}: ${config.layers} layers x ${config.width}, ${config.heads} heads, context ${config.context}, vocabulary ${config.vocabSize}, ${parameters.toLocaleString('en')} parameters`);
        console.error(`data: ${corpus.path} (${corpus.train.length.toLocaleString('en')} training, ${corpus.validation.length.toLocaleString('en')} validation tokens)`);
        console.error(`backend: ${choice ? `${choice.reason}${choice.cached ? ' (measured before, cached)' : ''}` : `${model.backend} (--backend)`}`);
        if (fromStep > 0) console.error(`resuming at step ${fromStep}`);
        bar = new ProgressBar(settings.steps, fromStep);
      },
      step(entry, total) {
        bar!.update(entry.step + 1, `loss ${entry.loss.toFixed(3)} | ${entry.tokensPerSecond.toLocaleString('en')} tok/s`);
        void total;
      },
      evaluation(entry) {
        const v = entry.validationLoss!;
        bar!.note(`step ${entry.step + 1}: validation ${v.toFixed(4)} nats, ${(v / Math.LN2).toFixed(4)} bits per token (train ${entry.loss.toFixed(4)})`);
      },
      async finish(model, log) {
        if (count <= 0) return;
        // The sample goes through the model's decoder, as `wavelet-gpt generate` does.
        const decoder = await model.decoder(1);
        try {
          sample = await continueTokens(decoder, model.config.context, [0], count, checkSampling({ temperature }), new SeededRandom(log.settings.seed));
        } finally {
          decoder.dispose();
        }
      },
    },
    options.resume === undefined
      ? undefined
      : {
          dir: options.resume,
          overrides: {
            ...(options.steps !== undefined && { steps: settings.steps }),
            ...(options.lr !== undefined && { lr: settings.lr }),
            ...(options['min-lr'] !== undefined && { minLr: settings.minLr }),
          },
        },
  );
  bar?.done();
  const out = options.resume ?? settings.out;
  console.error(`wrote ${out}/checkpoint.safetensors, ${out}/log.json, ${out}/curves.svg`);
  if (count > 0 && corpusInfo) {
    const tokens = sample;
    const { tokenizer } = corpusInfo;
    // Text prints; audio and MIDI samples are written as files.
    if (tokenizer.kind === 'mulaw' || tokenizer.kind === 'midi') {
      const file = `${out}/sample.${tokenizer.kind === 'mulaw' ? 'wav' : 'mid'}`;
      writeFileAtomic(file, tokenizer.kind === 'mulaw' ? tokenizer.decodeWav(tokens) : tokenizer.decode(tokens));
      console.log(`--- sample (${count} ${corpusInfo.symbol}s): ${file} ---`);
    } else if (tokenizer.kind !== 'pixels') {
      console.log(`--- sample (${count} tokens) ---\n${tokenizer.decode(tokens)}`);
    }
  }
}
