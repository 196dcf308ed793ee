/**
 * The web demo's entry (bundled by `serve.ts`): initialise WebGPU in the browser, run the
 * jit-compiled network and its `jit(grad)` of `computations.ts` on WebGPU and on the CPU
 * oracle, and show both with their largest difference. Each value cell carries the full
 * float in `data-value`; `<body data-status>` ends as `done` (or `error`, with the message in
 * #error) so a headless test can read the page.
 */
import { devicePut, initWebGpu, np, type Array as VArray, type BackendName } from '../../src/index.js';
import { SHAPES, computeAll, operandData, type Params } from './computations.js';

const $ = (id: string) => document.getElementById(id)!;

function onBackend(data: ReturnType<typeof operandData>, backend: BackendName): Promise<{ p: Params; x: VArray }> {
  const arr = (k: keyof typeof SHAPES) => np.array(data[k]).reshape([...SHAPES[k]]);
  return devicePut({ p: { w1: arr('w1'), w2: arr('w2') }, x: arr('x') }, backend);
}

function table(name: string, gpu: Float32Array, cpu: Float32Array): HTMLElement {
  const section = document.createElement('section');
  let maxDiff = 0;
  for (let i = 0; i < cpu.length; i++) maxDiff = Math.max(maxDiff, Math.abs(gpu[i] - cpu[i]));
  section.innerHTML = `<h2>${name}</h2><p>largest |WebGPU − CPU|: <span class="maxdiff">${maxDiff.toExponential(2)}</span></p>`;
  const t = document.createElement('table');
  t.dataset.result = name;
  t.innerHTML = '<tr><th>#</th><th>WebGPU</th><th>CPU oracle</th></tr>';
  for (let i = 0; i < cpu.length; i++) {
    const row = t.insertRow();
    row.insertCell().textContent = String(i);
    for (const [v, cls] of [[gpu[i], 'gpu'], [cpu[i], 'cpu']] as const) {
      const cell = row.insertCell();
      cell.className = cls;
      cell.dataset.value = String(v);
      cell.textContent = v.toPrecision(6);
    }
  }
  section.append(t);
  return section;
}

async function main(): Promise<void> {
  const info = await initWebGpu();
  $('adapter').textContent = `${info.adapter} (${info.via}; workgroups of ${info.workgroupSize})`;
  const data = operandData();
  const onCpu = await onBackend(data, 'cpu');
  const cpu = await computeAll(onCpu.p, onCpu.x);
  const t0 = performance.now();
  const onGpu = await onBackend(data, 'webgpu');
  const gpu = await computeAll(onGpu.p, onGpu.x);
  $('timing').textContent = `WebGPU: ${(performance.now() - t0).toFixed(1)} ms for the first run (compiling included)`;
  for (const name of Object.keys(cpu) as (keyof typeof cpu)[]) $('results').append(table(name, gpu[name], cpu[name]));
  document.body.dataset.status = 'done';
}

main().catch((e: unknown) => {
  $('error').textContent = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  document.body.dataset.status = 'error';
});
