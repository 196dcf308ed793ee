/**
 * `npm run bench:webgpu`: vidax's WebGPU backend against vidax's CPU backends (the JS oracle
 * `cpu` and `wasm`) and against jax-js's WebGPU backend, in one process on one WebGPU adapter
 * (Dawn, the npm package `webgpu`). Writes a Markdown table to
 * `bench/results/<date>-webgpu-<backend>-<adapter>.md` and prints it.
 *
 * Workloads (inputs from a seeded generator, the same numbers for every contender):
 *   matmul  n×n · n×n                              2n³ FLOP
 *   conv    3×3, stride 1, SAME, NCHW × OIHW         2·N·O·H·W·C·9 FLOP
 *   chain   jit(tanh(x)·sigmoid(x)) over a vector (a fused elementwise chain)
 *   mlp     jit(grad) of a 3-layer tanh MLP with an MSE loss, w.r.t. all six parameters
 *           (16·batch·width² FLOP)
 * Default sizes suit a software adapter (matmul 256, 512 and 1024, conv 2×32×32×32 32→32,
 * chain 1M, MLP width 256 batch 64: about 3 minutes on llvmpipe with 2 cores); `--full` uses
 * the peer benchmark's sizes for the rest (conv 8×64×32×32 64→64, chain 4M, MLP width 1024
 * batch 256), for a real GPU.
 *
 * One timed run = compute from inputs already on the device and read every output back to a
 * typed array (the peers' harness, bench/lib/). Each contender gets `--warmup` untimed runs
 * (default 2; the first compiles), then `--iters` timed ones (default 10): the table shows the
 * median, GFLOP/s where meaningful, and each contender's time relative to vidax webgpu. Every
 * contender's outputs are checked against vidax's CPU oracle (max |Δ| / max |ref|; a result
 * beyond 1e-3·|ref| + 1e-4·max|ref| is marked as wrong).
 *
 * The adapter (`--backend`):
 *   opengl   (default) Dawn's OpenGL backend, on machines without a GPU Mesa's llvmpipe, at the
 *            compatibility feature level (needs EGL_PLATFORM=surfaceless, set here when unset);
 *   vulkan   Dawn's Vulkan backend, e.g. an NVIDIA GPU (`npm run bench:webgpu -- --backend=vulkan --full`);
 *            without a GPU, Chromium's SwiftShader works as the Vulkan driver:
 *            `LD_LIBRARY_PATH=/usr/lib/chromium VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json`;
 *   default  Dawn's own choice for the platform.
 * Both libraries reach the adapter through one `navigator.gpu` installed here over Dawn (jax-js
 * asks `navigator.gpu` for its adapter; at the compatibility level the request is amended).
 * Other options: `--only=matmul,conv,chain,mlp`, `--skip-cpu` (leave out the slow JS oracle's
 * timing; it still computes the reference), `--out=FILE`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Jax from '@jax-js/jax';
import type { Contender, Prepared } from './lib/contender.js';
import { packageVersion } from './lib/contender.js';
import { describeMachine } from './lib/machine.js';
import type { Instance } from './lib/workloads.js';

// ------------------------------------------------------------------------------ options

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const flag = (name: string): boolean => args.includes(`--${name}`);
const known = new Set(['backend', 'iters', 'warmup', 'only', 'out', 'full', 'skip-cpu']);
for (const a of args) {
  const name = /^--([a-z-]+)/.exec(a)?.[1];
  if (!name || !known.has(name)) {
    console.error(`bench:webgpu: unknown option '${a}' (options: --backend=opengl|vulkan|default, --iters=N, --warmup=N, --only=LIST, --full, --skip-cpu, --out=FILE)`);
    process.exit(1);
  }
}
const BACKENDS = { opengl: ['backend=opengl'], vulkan: ['backend=vulkan'], default: [] } as const;
const backend = (opt('backend') ?? 'opengl') as keyof typeof BACKENDS;
if (!(backend in BACKENDS)) {
  console.error(`bench:webgpu: --backend must be opengl, vulkan or default, got '${backend}'`);
  process.exit(1);
}
const int = (name: string, def: number, min: number): number => {
  const v = Number(opt(name) ?? def);
  if (!Number.isInteger(v) || v < min) {
    console.error(`bench:webgpu: --${name} must be an integer ≥ ${min}, got '${opt(name)}'`);
    process.exit(1);
  }
  return v;
};
const ITERS = int('iters', 10, 1);
const WARMUP = int('warmup', 2, 1);
const FULL = flag('full');
const SKIP_CPU = flag('skip-cpu');
const KINDS = ['matmul', 'conv', 'chain', 'mlp'] as const;
const only = opt('only')?.split(',') ?? [...KINDS];
for (const k of only)
  if (!(KINDS as readonly string[]).includes(k)) {
    console.error(`bench:webgpu: --only takes ${KINDS.join(', ')}; got '${k}'`);
    process.exit(1);
  }

// ------------------------------------------------------------------------------ workloads

/** mulberry32 values uniform in [-scale, scale). */
function uniform(size: number, scale: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

function instances(): { title: string; flop: number; inst: Instance }[] {
  const out: { title: string; flop: number; inst: Instance }[] = [];
  if (only.includes('matmul'))
    for (const n of [256, 512, 1024])
      out.push({ title: `matmul ${n}×${n} · ${n}×${n}`, flop: 2 * n ** 3, inst: { kind: 'matmul', m: n, k: n, n, a: uniform(n * n, 1, 1), b: uniform(n * n, 1, 2) } });
  if (only.includes('conv')) {
    const [n, c, h, w, o] = FULL ? [8, 64, 32, 32, 64] : [2, 32, 32, 32, 32];
    out.push({
      title: `conv 3×3 SAME, ${n}×${c}×${h}×${w}, ${c}→${o}`,
      flop: 2 * n * o * h * w * c * 9,
      inst: { kind: 'conv', n, c, h, w, o, kh: 3, kw: 3, x: uniform(n * c * h * w, 1, 3), filter: uniform(o * c * 9, 1 / Math.sqrt(c * 9), 4) },
    });
  }
  if (only.includes('chain')) {
    const size = FULL ? 4 << 20 : 1 << 20;
    out.push({ title: `jit tanh(x)·sigmoid(x), ${size >> 20}M elements`, flop: 0, inst: { kind: 'chain', size, x: uniform(size, 4, 5) } });
  }
  if (only.includes('mlp')) {
    const [batch, width] = FULL ? [256, 1024] : [64, 256];
    const s = 1 / Math.sqrt(width);
    const params = {
      w1: uniform(width * width, s, 7), b1: uniform(width, 0.1, 8), w2: uniform(width * width, s, 9),
      b2: uniform(width, 0.1, 10), w3: uniform(width * width, s, 11), b3: uniform(width, 0.1, 12),
    };
    out.push({
      title: `jit(grad) 3-layer MLP, width ${width}, batch ${batch}`,
      flop: 16 * batch * width * width,
      inst: { kind: 'mlp', batch, width, x: uniform(batch * width, 1, 13), y: uniform(batch * width, 1, 14), params },
    });
  }
  return out;
}

// ------------------------------------------------------------------------------ the adapter

process.env.EGL_PLATFORM ??= 'surfaceless';
const compat = backend === 'opengl';
const dawn = (await import('webgpu')) as unknown as { create(o: string[]): GPU; globals: object };
// jax-js uses the GPUBufferUsage/GPUMapMode/... globals of a browser.
Object.assign(globalThis, dawn.globals);
const gpu = dawn.create([...BACKENDS[backend]]);
/** `navigator.gpu` for both libraries: Dawn's, with the compatibility level asked for on OpenGL. */
const navigatorGpu = {
  requestAdapter: (o?: GPURequestAdapterOptions) => gpu.requestAdapter(compat ? ({ ...o, featureLevel: 'compatibility' } as GPURequestAdapterOptions) : o),
  getPreferredCanvasFormat: () => 'rgba8unorm',
  wgslLanguageFeatures: gpu.wgslLanguageFeatures,
};
Object.defineProperty(globalThis, 'navigator', { value: { gpu: navigatorGpu, hardwareConcurrency: os.availableParallelism(), userAgent: 'node' }, configurable: true, writable: true });

const probe = await navigatorGpu.requestAdapter({ powerPreference: 'high-performance' });
if (!probe) {
  console.error(`bench:webgpu: Dawn create(${JSON.stringify(BACKENDS[backend])}) gives no adapter${compat ? ' at the compatibility level (is EGL/Mesa installed? XDG_RUNTIME_DIR set?)' : ''}`);
  process.exit(1);
}
const info = probe.info;
const adapterName = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unknown adapter';

const vidax = await import('../src/index.js');
const vinfo = await vidax.initWebGpu();
const { vidaxContenders, vidaxReference } = await import('./lib/vidax.js');
const contenders: Contender[] = [];
// The JS oracle is single-threaded; wasm and webgpu are taken with config.threads = all cores.
if (!SKIP_CPU) contenders.push(...vidaxContenders(1).filter((c) => c.id === 'vidax-cpu'));
contenders.push(...vidaxContenders(os.availableParallelism()).filter((c) => c.id === 'vidax-wasm' || c.id === 'vidax-webgpu'));

const jax = (await import('@jax-js/jax')) as typeof Jax;
const jaxDevices = await jax.init('webgpu');
const { prepare: prepareJaxjs } = await import('./lib/jaxjs.js');
if (jaxDevices.includes('webgpu')) {
  jax.defaultDevice('webgpu');
  contenders.push({ id: 'jax-js-webgpu', label: 'jax-js webgpu', isVidax: false, threads: null, prepare: async (inst) => prepareJaxjs(jax, inst) });
} else console.error('bench:webgpu: jax-js did not start its webgpu backend; its column is left out');
const order = ['vidax-webgpu', 'jax-js-webgpu', 'vidax-wasm', 'vidax-cpu'];
contenders.sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));

const require = createRequire(import.meta.url);
console.log(`adapter: ${adapterName} (Dawn ${JSON.stringify(BACKENDS[backend])}${compat ? ', compatibility level' : ''}); vidax: ${vinfo.adapter}, workgroups of ${vinfo.workgroupSize}`);

// ------------------------------------------------------------------------------ timing

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const message = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 160);

/** max |Δ| / max |ref|, and whether every element is within 1e-3·|ref| + 1e-4·max|ref|. */
function check(outs: Float32Array[], ref: Float32Array[]): { ok: boolean; err: number } {
  if (outs.length !== ref.length) return { ok: false, err: Infinity };
  let scale = 0;
  for (const r of ref) for (const v of r) scale = Math.max(scale, Math.abs(v));
  scale ||= 1;
  let ok = true, err = 0;
  for (const [i, r] of ref.entries()) {
    if (outs[i].length !== r.length) return { ok: false, err: Infinity };
    for (let j = 0; j < r.length; j++) {
      const d = Math.abs(outs[i][j] - r[j]);
      if (!(d <= 1e-3 * Math.abs(r[j]) + 1e-4 * scale)) ok = false;
      err = Math.max(err, Number.isNaN(d) ? Infinity : d / scale);
    }
  }
  return { ok, err };
}

interface Cell {
  ms?: number;
  first?: number;
  err?: number;
  ok?: boolean;
  failed?: string;
}

async function measure(c: Contender, inst: Instance, ref: Float32Array[]): Promise<Cell> {
  let p: Prepared | { unsupported: string };
  try {
    p = await c.prepare(inst);
  } catch (e) {
    return { failed: message(e) };
  }
  if ('unsupported' in p) return { failed: p.unsupported };
  try {
    let t0 = performance.now();
    const outs = await p.run();
    const first = performance.now() - t0;
    const { ok, err } = check(outs, ref);
    for (let i = 1; i < WARMUP; i++) await p.run();
    const samples: number[] = [];
    for (let i = 0; i < ITERS; i++) {
      t0 = performance.now();
      await p.run();
      samples.push(performance.now() - t0);
    }
    return { ms: median(samples), first, err, ok };
  } catch (e) {
    return { failed: message(e) };
  } finally {
    p.dispose();
  }
}

// ------------------------------------------------------------------------------ run

const machine = describeMachine();
const load0 = os.loadavg()[0];
const t0 = performance.now();
const rows: { title: string; flop: number; cells: Map<string, Cell> }[] = [];
for (const { title, flop, inst } of instances()) {
  const ref = await vidaxReference(inst);
  const cells = new Map<string, Cell>();
  for (const c of contenders) {
    const cell = await measure(c, inst, ref);
    cells.set(c.id, cell);
    console.log(`${title.padEnd(44)} ${c.label.padEnd(14)} ${cell.failed ? `failed: ${cell.failed}` : `${cell.ms!.toFixed(2)} ms (first ${cell.first!.toFixed(0)} ms), err ${cell.err!.toExponential(1)}${cell.ok ? '' : ' WRONG'}`}`);
  }
  rows.push({ title, flop, cells });
}
const seconds = (performance.now() - t0) / 1000;

// ------------------------------------------------------------------------------ report

const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
const head = ['workload', ...contenders.map((c) => `${c.label} (ms)`), ...contenders.filter((c) => c.id !== 'vidax-webgpu').map((c) => `${c.label} ÷ vidax webgpu`), 'vidax webgpu GFLOP/s', 'max rel. error (webgpu / jax-js)'];
const table = [head, head.map(() => '---')];
for (const { title, flop, cells } of rows) {
  const base = cells.get('vidax-webgpu');
  const show = (c: Cell | undefined) => (!c ? '—' : c.failed ? `failed: ${c.failed}` : `${fmt(c.ms!)}${c.ok ? '' : ' (wrong)'}`);
  const ratio = (c: Cell | undefined) => {
    if (c?.ms === undefined || base?.ms === undefined) return '—';
    const r = c.ms / base.ms;
    return `${r >= 0.1 ? r.toFixed(2) : r.toPrecision(2)}×`;
  };
  const err = (c: Cell | undefined) => (c?.err !== undefined ? c.err.toExponential(1) : '—');
  table.push([
    title,
    ...contenders.map((c) => show(cells.get(c.id))),
    ...contenders.filter((c) => c.id !== 'vidax-webgpu').map((c) => ratio(cells.get(c.id))),
    flop && base?.ms ? (flop / base.ms / 1e6).toFixed(2) : '—',
    `${err(base)} / ${err(cells.get('jax-js-webgpu'))}`,
  ]);
}
const md = [
  `# WebGPU benchmark: vidax webgpu vs jax-js webgpu, vidax wasm and cpu`,
  '',
  `- Date: ${new Date().toISOString()}; command: \`npm run bench:webgpu${args.length ? ` -- ${args.join(' ')}` : ''}\``,
  `- Adapter: ${adapterName}, Dawn (npm \`webgpu\` ${packageVersion('webgpu', require)}) \`create(${JSON.stringify(BACKENDS[backend])})\`${compat ? ', compatibility feature level' : ''}; vidax: workgroups of ${vinfo.workgroupSize}`,
  `- Machine: ${machine.cpu} (${machine.cpuDetail}), ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}; load average ${load0.toFixed(1)} at the start, ${os.loadavg()[0].toFixed(1)} at the end`,
  `- Libraries: vidax (this tree; wasm with config.threads = ${os.availableParallelism()}, cpu = the single-threaded JS oracle), @jax-js/jax ${packageVersion('@jax-js/jax', require)} (webgpu backend, jit for chain and MLP)`,
  `- Each cell: median of ${ITERS} runs after ${WARMUP} warm-up run(s), each run computing from resident inputs and reading every output back; ratios > 1 mean slower than vidax webgpu. Errors: max |Δ| / max |ref| against vidax's CPU oracle.`,
  `- Whole run: ${seconds.toFixed(0)} s.`,
  '',
  ...table.map((r) => `| ${r.join(' | ')} |`),
  '',
].join('\n');
console.log(`\n${md}`);
const here = path.dirname(fileURLToPath(import.meta.url));
const slug = `${backend}-${adapterName.toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, 24).replace(/^-+|-+$/g, '')}`;
const file = opt('out') ?? path.join(here, 'results', `${new Date().toISOString().slice(0, 10)}-webgpu-${slug}.md`);
mkdirSync(path.dirname(file), { recursive: true });
writeFileSync(file, md);
console.log(`written: ${path.relative(process.cwd(), file)}`);
// jax-js keeps handles (and the Dawn instance its device needs) alive.
process.exit(0);
