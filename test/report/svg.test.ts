// The plots: round ticks (steps of 1, 2 or 5 times a power of ten, covering the data), a dot on
// each point of a sparse series, and every value inside the plot area.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lineChartSvg, niceTicks } from '../../src/report/svg.js';

test('niceTicks: steps of 1, 2 or 5 x 10^k, from below the least value to above the greatest', () => {
  assert.equal(niceTicks(75.8, 751), [0, 200, 400, 600, 800]);
  assert.equal(niceTicks(1.62, 1.97), [1.6, 1.7, 1.8, 1.9, 2]);
  assert.equal(niceTicks(1, 5000), [0, 1000, 2000, 3000, 4000, 5000]);
  assert.equal(niceTicks(-0.3, 0.25), [-0.4, -0.2, 0, 0.2, 0.4]);
  assert.equal(niceTicks(-0.3, 0.2), [-0.3, -0.2, -0.1, 0, 0.1, 0.2]);
  for (const [min, max] of [[0.013, 0.0171], [3, 3.0004], [-7, 1e6], [12, 13]]) {
    const ticks = niceTicks(min, max);
    const step = ticks[1] - ticks[0];
    const mantissa = +(step / 10 ** Math.floor(Math.log10(step))).toPrecision(6);
    assert.ok([1, 2, 5].includes(mantissa), `[${min}, ${max}]: a step of ${step}`);
    assert.ok(ticks[0] <= min && ticks[ticks.length - 1] >= max && ticks.length >= 3 && ticks.length <= 12, `[${min}, ${max}]: ${ticks}`);
  }
});

test('a chart: tick labels are the round ticks, sparse series get dots, dense ones none', () => {
  const svg = lineChartSvg(
    [
      { name: 'train', values: Array.from({ length: 751 }, (_, i) => 6 - i / 300), x: Array.from({ length: 751 }, (_, i) => i + 1) },
      { name: 'validation', values: [5.5, 4.5, 3.6], x: [250, 500, 751] },
    ],
    { title: 't', xLabel: 'step', yLabel: 'bits per token' },
  );
  const labels = [...svg.matchAll(/text-anchor="middle">([^<]+)<\/text>/g)].map((m) => m[1]).filter((l) => /^[\d.]+$/.test(l));
  assert.equal(labels, ['0', '200', '400', '600', '800']);
  assert.is((svg.match(/<circle /g) ?? []).length, 3, 'a dot on each validation point only');
});

test.run();
