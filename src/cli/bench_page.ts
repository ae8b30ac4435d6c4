// The benchmark page `wavelet-gpt bench --serve` serves: the suite run in the browser on WebGPU and
// wasm (threads, the page being cross-origin isolated by the server's headers), progress and each
// figure as it comes, then the report to download and posted back to the server. Query parameters
// preset the form (?suite=quick&backends=wasm,webgpu&label=...); autostart=1 runs at once.

import type { PackageInfo } from '../bench/runner.js';

export interface PageDefaults {
  suite: string;
  backends?: readonly string[];
  label?: string;
  package: PackageInfo;
}

export function benchPageHtml(defaults: PageDefaults): string {
  // In a <script>, '</' would end the element: escaped in the JSON.
  const settings = JSON.stringify(defaults).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>wavelet-gpt benchmarks</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 980px; padding: 0 1em; color: #222; }
fieldset { border: 1px solid #ddd; border-radius: 6px; margin-bottom: 1em; } label { margin-right: 1.2em; }
progress { width: 100%; height: 1.2em; } #status { margin: 0.5em 0; color: #444; } #error { color: #b00; white-space: pre-wrap; }
table { border-collapse: collapse; width: 100%; } td, th { padding: 2px 8px; border-bottom: 1px solid #eee; text-align: left; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
button { font-size: 1em; padding: 0.3em 1.2em; } #saved { margin-left: 1em; color: #060; }
</style></head><body>
<h1>wavelet-gpt benchmarks in this browser</h1>
<p>The same suite as <code>wavelet-gpt bench</code>: the wavelet op, matmul, a training step and generation, on WebGPU and on WebAssembly SIMD at each thread count. The report is the same JSON, to compare with other devices by <code>wavelet-gpt bench-report</code>.</p>
<form id="form"><fieldset>
<label>suite <select name="suite"><option>quick</option><option>standard</option></select></label>
<label><input type="checkbox" name="backend" value="webgpu"> webgpu</label>
<label><input type="checkbox" name="backend" value="wasm"> wasm</label>
<label><input type="checkbox" name="backend" value="js"> js (reference)</label>
<label>device name <input name="label" size="28" placeholder="(from the browser)"></label>
<button id="start" type="submit">Run</button>
</fieldset></form>
<div id="env"></div>
<progress id="progress" value="0" max="1"></progress>
<div id="status">ready</div>
<div id="error"></div>
<p id="result" hidden><a id="download" download="bench.json" href="#">Download the report (JSON)</a><span id="saved"></span></p>
<table id="figures"><thead><tr><th>case</th><th>figure</th><th>target</th><th>value</th><th>unit</th><th>quartiles</th></tr></thead><tbody></tbody></table>
<script type="module">
import { formatValue as format, runBenchmarks } from './bench.mjs';
const defaults = ${settings};
const params = new URLSearchParams(location.search);
const form = document.getElementById('form');
const suite = params.get('suite') ?? defaults.suite;
const backends = (params.get('backends') ?? (defaults.backends ?? ['webgpu', 'wasm', 'js']).join(',')).split(',');
form.suite.value = suite;
for (const box of form.backend) box.checked = backends.includes(box.value);
form.label.value = params.get('label') ?? defaults.label ?? '';
document.getElementById('env').textContent = \`\${navigator.hardwareConcurrency} logical cores; WebGPU \${navigator.gpu ? 'present' : 'absent'}; \${crossOriginIsolated ? 'cross-origin isolated: wasm threads on' : 'not cross-origin isolated: wasm on one thread'}\`;
const status = (text) => (document.getElementById('status').textContent = text);

async function run() {
  document.body.dataset.state = 'running';
  document.getElementById('start').disabled = true;
  document.getElementById('error').textContent = '';
  const rows = document.querySelector('#figures tbody');
  rows.textContent = '';
  const progress = document.getElementById('progress');
  const chosen = [...form.backend].filter((box) => box.checked).map((box) => box.value);
  try {
    const report = await runBenchmarks({
      suite: form.suite.value,
      backends: chosen,
      label: form.label.value || undefined,
      package: defaults.package,
      onProgress({ done, total, message, result }) {
        progress.max = Math.max(1, total);
        progress.value = done;
        status(\`\${done}/\${total} \${message}\`);
        if (!result) return;
        const row = rows.insertRow();
        for (const [text, numeric] of [[result.case], [result.figure], [result.target], [format(result.value), true], [result.unit], [\`\${format(result.low)} to \${format(result.high)}\`, true]]) {
          const cell = row.insertCell();
          cell.textContent = text;
          if (numeric) cell.className = 'num';
        }
      },
    });
    const json = JSON.stringify(report, null, 2) + '\\n';
    window.benchReport = report;
    const link = document.getElementById('download');
    link.href = URL.createObjectURL(new Blob([json], { type: 'application/json' }));
    link.download = \`bench-\${report.device.label.replace(/[^\\w.-]+/g, '-')}.json\`;
    document.getElementById('result').hidden = false;
    const skipped = report.not_run.filter((n) => n.case === '*').map((n) => \`\${n.target}: \${n.reason}\`);
    status(\`done: \${report.results.length} figures in \${report.duration_s} s\${skipped.length ? '; not run: ' + skipped.join('; ') : ''}\`);
    const answer = await fetch('report', { method: 'POST', headers: { 'content-type': 'application/json' }, body: json }).then((r) => r.json());
    document.getElementById('saved').textContent = answer.saved ? \`saved by the server to \${answer.saved}\` : answer.error ? \`the server refused it: \${answer.error}\` : 'not saved by the server (start it with --out FILE)';
    document.body.dataset.state = 'done';
  } catch (error) {
    document.getElementById('error').textContent = String(error?.stack ?? error);
    status('failed');
    document.body.dataset.state = 'error';
  } finally {
    document.getElementById('start').disabled = false;
  }
}
form.addEventListener('submit', (event) => { event.preventDefault(); run(); });
if (params.get('autostart') === '1') run();
</script>
</body></html>
`;
}
