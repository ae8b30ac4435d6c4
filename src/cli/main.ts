#!/usr/bin/env node
// The `wavelet-gpt` command. Errors a user can fix (bad input, a backend missing) print one line
// and exit 2; anything else is a bug and keeps its stack.

import { readFileSync } from 'node:fs';
import { BackendUnavailableError, WaveletInputError } from '../errors.js';
import { runDemo } from './demo.js';
import { runInfo } from './info.js';
import { runTrain, TRAIN_OPTIONS, TRAIN_USAGE } from './train.js';
import { QUANTIZE_OPTIONS, QUANTIZE_USAGE, runQuantize } from './quantize.js';
import { GENERATE_OPTIONS, GENERATE_USAGE, runGenerate } from './generate.js';
import { REPLICATE_OPTIONS, REPLICATE_USAGE, runData, runReplicate, runReplicateReport } from './replicate.js';
import { TokenizerInputError } from '../errors.js';
import { TrainingDivergedError } from '../train/trainer.js';

const USAGE = `usage: wavelet-gpt <command> [options]

commands:
  info                     version, and the backends found on this machine with what each reports
${TRAIN_USAGE}
${GENERATE_USAGE}
${QUANTIZE_USAGE}
${REPLICATE_USAGE}
  demo [--out DIR] [--chars N] [--levels L]
                           the causal Haar filter bank on the default text (Moby-Dick): timings on
                           each backend and an SVG of the multi-resolution picture
  help                     this text`;

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Parses --name value pairs; every name must be one of `allowed`. */
export function parseOptions(args: string[], allowed: string[]): Record<string, string> {
  const options: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const name = arg.replace(/^--/, '');
    if (!arg.startsWith('--') || !allowed.includes(name)) {
      throw new WaveletInputError(`unknown option '${arg}': expected one of ${allowed.map((a) => `--${a}`).join(', ')}`);
    }
    if (i + 1 >= args.length) throw new WaveletInputError(`option '${arg}' needs a value`);
    options[name] = args[++i];
  }
  return options;
}

async function main(argv: string[]): Promise<void> {
  const [command = 'help', ...rest] = argv;
  switch (command) {
    case 'info':
      return runInfo(version());
    case 'train':
      return runTrain(parseOptions(rest, TRAIN_OPTIONS));
    case 'generate':
      return runGenerate(parseOptions(rest, GENERATE_OPTIONS));
    case 'quantize':
      return runQuantize(parseOptions(rest, QUANTIZE_OPTIONS));
    case 'replicate':
      return runReplicate(parseOptions(rest, REPLICATE_OPTIONS));
    case 'data':
      return runData(rest[0], parseOptions(rest.slice(1), ['out', 'dataset-size']));
    case 'replicate-report': {
      const at = rest.indexOf('--out');
      return runReplicateReport(at < 0 ? rest : rest.slice(0, at), at < 0 ? undefined : rest[at + 1]);
    }
    case 'demo':
      return runDemo(parseOptions(rest, ['out', 'chars', 'levels']));
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return;
    default:
      throw new WaveletInputError(`unknown command '${command}': expected info, train, generate, quantize, replicate, data, replicate-report, demo or help`);
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0), // Dawn keeps the event loop alive; the work is done
  (error: Error) => {
    if (error instanceof WaveletInputError || error instanceof BackendUnavailableError || error instanceof TokenizerInputError || error instanceof TrainingDivergedError) {
      console.error(`wavelet-gpt: ${error.message}`);
      process.exit(2);
    }
    console.error(error);
    process.exit(1);
  },
);
