// The replication's results as the paper shows them: a table (Modality | Baseline | Proposed |
// SPE | Speedup | Relative time, with each model's parameters and time a step) in Markdown, and
// the validation curves with each variant's same-performance step marked, as SVG.

import { lineChartSvg } from '../report/svg.js';
import { describeSizes } from '../model/config.js';
import type { ReplicationResults } from './harness.js';

const NAMES: Record<string, string> = { none: 'baseline', haar: 'Haar (fixed)', learnable: 'learnable kernels', ema: 'EMA', 'wavelet-lm': 'WaveletLM (matched parameters)' };

const pm = (value: { mean: number; spread: number } | null, digits: number, seeds: number) =>
  value === null ? 'not reached' : seeds > 1 ? `${value.mean.toFixed(digits)} ± ${value.spread.toFixed(digits)}` : value.mean.toFixed(digits);

/** One section a replication, each with its table and how it was run. */
export function replicationMarkdown(all: ReplicationResults[]): string {
  const lines: string[] = [];
  for (const r of all) {
    const baseline = r.summaries.find((s) => s.variant === r.baseline)!;
    const n = r.seeds.length;
    lines.push(
      `## ${r.dataset} (${r.preset}, ${r.steps} steps, ${n} seed${n > 1 ? 's' : ''})`,
      '',
      `Data: ${r.source}. Model: ${describeSizes(r.config)}` +
        (baseline.parameters === undefined ? '' : `, ${baseline.parameters.toLocaleString('en')} parameters, ${baseline.msPerStep.toFixed(1)} ms a step`) +
        `; batch ${r.batch}, evaluated every ${r.evalEvery} steps; backend ${r.backend}. ` +
        `Losses are validation NLL in nats (bits per ${r.symbol} in brackets), mean ± standard deviation over seeds. ` +
        `SPE: the first evaluation at which a variant reaches the same seed's baseline final loss; speedup 1 - SPE / ${r.steps}.`,
      '',
      '| Modality | Baseline | Proposed | Variant | Parameters | SPE | Speedup | Reached | ms a step | Relative time |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    );
    const bits = (nats: number) => (nats / Math.LN2).toFixed(3);
    for (const s of r.summaries.filter((v) => v.variant !== r.baseline)) {
      lines.push(
        `| ${r.dataset} | ${pm(baseline.finalLoss, 3, n)} (${bits(baseline.finalLoss.mean)}) | ${pm(s.finalLoss, 3, n)} (${bits(s.finalLoss.mean)}) | ${NAMES[s.variant] ?? s.variant} | ` +
          `${s.parameters?.toLocaleString('en') ?? '?'} | ${pm(s.samePerformanceStep, 0, s.reached)} | ${s.speedup ? `${pm({ mean: 100 * s.speedup.mean, spread: 100 * s.speedup.spread }, 1, s.reached)} %` : 'none'} | ` +
          `${s.reached}/${n} | ${s.msPerStep.toFixed(1)} | ${s.relativeTime.toFixed(3)} |`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}

/** Validation loss (bits per symbol), mean over seeds, each variant's mean SPE marked. */
export function replicationSvg(r: ReplicationResults): string {
  const variants = r.summaries.map((s) => s.variant);
  const series = variants.map((variant) => {
    const runs = r.runs.filter((run) => run.variant === variant);
    const steps = runs[0].curve.steps;
    const values = steps.map((_, i) => runs.reduce((sum, run) => sum + run.curve.losses[i], 0) / runs.length / Math.LN2);
    return { name: NAMES[variant] ?? variant, values, x: steps };
  });
  const baseline = r.summaries.find((s) => s.variant === r.baseline)!;
  const markers = r.summaries.flatMap((s, n) => (s.variant !== r.baseline && s.samePerformanceStep ? [{ x: s.samePerformanceStep.mean, label: `SPE ${Math.round(s.samePerformanceStep.mean)}`, series: n }] : []));
  return lineChartSvg(series, {
    title: `${r.dataset}: validation loss, mean of ${r.seeds.length} seed(s)`,
    xLabel: 'step',
    yLabel: `bits per ${r.symbol}`,
    markers,
    levels: [{ y: baseline.finalLoss.mean / Math.LN2, label: 'baseline final' }],
  });
}
