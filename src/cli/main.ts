#!/usr/bin/env node
// The `wavelet-gpt` command. Errors a user can fix (bad input, a backend missing) print one line
// and exit 2; anything else is a bug and keeps its stack.

import { packageInfo } from '../io/package_files.js';
import { BackendUnavailableError, WaveletInputError } from '../errors.js';
import { runDemo } from './demo.js';
import { runInfo } from './info.js';
import { runTrain, TRAIN_FLAGS, TRAIN_USAGE } from './train.js';
import { EXPORT_FLAGS, EXPORT_USAGE, QUANTIZE_FLAGS, QUANTIZE_USAGE, runQuantize } from './quantize.js';
import { GENERATE_FLAGS, GENERATE_USAGE, runGenerate } from './generate.js';
import { runTokenizer, TOKENIZER_FLAGS, TOKENIZER_USAGE } from './tokenizer.js';
import { DATA_FLAGS, DATA_USAGE, REPLICATE_FLAGS, REPLICATE_USAGE, runData, runReplicate, runReplicateReport } from './replicate.js';
import { BENCH_FLAGS, BENCH_REPORT_FLAGS, BENCH_REPORT_USAGE, BENCH_USAGE, runBench, runBenchReport } from './bench.js';
import { closest, flagsUsage, parseFlags, type Flag, type Options } from './options.js';
import { TokenizerInputError } from '../errors.js';
import { TrainingDivergedError, TrainingStoppedError } from '../train/trainer.js';

const DEMO_FLAGS: readonly Flag[] = [
  { name: 'out', value: 'DIR', default: 'runs/demo', help: 'where the SVG goes' },
  { name: 'chars', value: 'N', type: 'integer', min: 1, default: 8192, help: 'characters of the text' },
  { name: 'levels', value: 'L', type: 'integer', min: 1, default: 10, help: 'levels of the filter bank' },
];

const DEMO_USAGE = flagsUsage(
  'demo [options]',
  'the causal Haar filter bank on the default text (Moby-Dick): timings on each backend and an SVG\nof the multi-resolution picture',
  DEMO_FLAGS,
);

const USAGE = `usage: wavelet-gpt <command> [options]

commands:
  info                     version, and the backends found on this machine with what each reports
${TRAIN_USAGE}
${GENERATE_USAGE}
${QUANTIZE_USAGE}
${EXPORT_USAGE}
${TOKENIZER_USAGE}
${REPLICATE_USAGE}
${DATA_USAGE}
${DEMO_USAGE}
${BENCH_USAGE}
${BENCH_REPORT_USAGE}
  help [COMMAND]           this text, or one command's (also COMMAND --help); --version the version`;

/** Each command's flags and usage: parsing, per-command help and the list below read this. */
const COMMANDS: Record<string, { flags: readonly Flag[]; usage: string; positionals?: boolean; run(options: Options, positional: string[]): Promise<void> | void }> = {
  train: { flags: TRAIN_FLAGS, usage: TRAIN_USAGE, run: (o) => runTrain(o) },
  generate: { flags: GENERATE_FLAGS, usage: GENERATE_USAGE, run: (o) => runGenerate(o) },
  quantize: { flags: QUANTIZE_FLAGS, usage: QUANTIZE_USAGE, run: (o) => runQuantize(o) },
  export: { flags: EXPORT_FLAGS, usage: EXPORT_USAGE, run: (o) => runQuantize(o, 'export') },
  replicate: { flags: REPLICATE_FLAGS, usage: REPLICATE_USAGE, run: (o) => runReplicate(o) },
  data: { flags: DATA_FLAGS, usage: DATA_USAGE, run: (o, [name]) => runData(name, o) },
  tokenizer: { flags: TOKENIZER_FLAGS, usage: TOKENIZER_USAGE, run: (o, [subcommand]) => runTokenizer(subcommand, o) },
  demo: { flags: DEMO_FLAGS, usage: DEMO_USAGE, run: (o) => runDemo(o) },
  bench: { flags: BENCH_FLAGS, usage: BENCH_USAGE, run: (o) => runBench(o) },
  'bench-report': { flags: BENCH_REPORT_FLAGS, usage: BENCH_REPORT_USAGE, positionals: true, run: (o) => runBenchReport(o) },
};

export function version(): string {
  return packageInfo().version!;
}

async function main(argv: string[]): Promise<void> {
  const [command = 'help', ...rest] = argv;
  const known = COMMANDS[command];
  if (known) {
    if (rest.includes('--help') || rest.includes('-h')) return void console.log(`usage: wavelet-gpt\n${known.usage}`);
    const positional = (command === 'data' || command === 'tokenizer') && rest[0] && !rest[0].startsWith('-') ? rest.slice(0, 1) : [];
    return known.run(parseFlags(command, rest.slice(positional.length), known.flags, known.positionals), positional);
  }
  switch (command) {
    case 'info':
      return runInfo(version());
    case 'replicate-report':
      return runReplicateReport(rest);
    case '--version':
    case '-v':
      console.log(version());
      return;
    case 'help':
    case '--help':
    case '-h':
      console.log(rest[0] && COMMANDS[rest[0]] ? `usage: wavelet-gpt\n${COMMANDS[rest[0]].usage}` : USAGE);
      return;
    default: {
      const near = closest(command, ['info', ...Object.keys(COMMANDS), 'replicate-report', 'help']);
      throw new WaveletInputError(`unknown command '${command}'${near ? ` (did you mean ${near}?)` : ''}: expected info, ${Object.keys(COMMANDS).join(', ')}, replicate-report or help`);
    }
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0), // Dawn keeps the event loop alive; the work is done
  (error: Error) => {
    if (error instanceof WaveletInputError || error instanceof BackendUnavailableError || error instanceof TokenizerInputError || error instanceof TrainingDivergedError) {
      console.error(`wavelet-gpt: ${error.message}`);
      process.exit(2);
    }
    if (error instanceof TrainingStoppedError) {
      console.error(`wavelet-gpt: ${error.message}`);
      process.exit(130); // as a shell reports a program stopped by Ctrl-C
    }
    console.error(error);
    process.exit(1);
  },
);
