/**
 * vidax against its peers (issue 8): matmul, convolution, a fused elementwise chain, softmax
 * and the gradient of an MLP, on vidax (every registered backend) and on TensorFlow.js
 * (wasm), jax-js (wasm) and onnxruntime-node (native CPU), all installed as devDependencies.
 *
 * Run: `npm run bench` (this file; `npm run bench:fusion` is the eager-vs-jit benchmark).
 * Prints a Markdown report and writes it to `bench/results/<date>-<machine label>.md`.
 *
 * Method
 *  - One process per thread count (1, then all cores): the thread count of jax-js's worker
 *    pool is fixed when its backend starts. Each process loads every library that can run
 *    with that many threads: vidax's `cpu` backend and tfjs-wasm are single-threaded in Node
 *    and run in the 1-thread process only; onnxruntime-node sets `intraOpNumThreads`; vidax's
 *    other backends follow `config.threads` where vidax has that setting.
 *  - Before timing, a small instance of each workload runs on every library and is compared
 *    with vidax's JavaScript `cpu` backend (the oracle): |Δ| ≤ 1e-3·|ref| + 1e-4·max|ref|.
 *  - Every library uses its own idiomatic API on the same input numbers; inputs are uploaded
 *    once, outside the timed region. A timed run computes the result and reads every output
 *    back into a JavaScript typed array.
 *  - Warm-up (2 runs each, which also compiles `jit` functions), then rounds in which each
 *    library runs once, in rotating order, so slow drifts of the machine hit all alike. In
 *    multi-threaded processes each timed run starts after a 25 ms idle pause, so a pool that
 *    spins after its run (ONNX Runtime's) does not take a core from the next library, and one
 *    untimed run of the same library: the time is that of a run in a loop of runs, with the
 *    library's workers awake, not the wake-up of a worker after an idle gap (on a VM, 1–4 ms
 *    before the woken worker starts, often on the caller's core). Rounds: enough to fill
 *    `--budget` seconds per workload, at least 10 (at most 50).
 *    Reported: the median; GFLOP/s for matmul and conv, milliseconds otherwise.
 *
 * Options: `--threads=1,2` (thread counts, default 1 and all cores), `--only=matmul,conv`,
 * `--budget=S` (seconds of timed rounds per workload and process, default 12), `--quick`
 * (3 rounds, 1 warm-up; prints, writes nothing: a smoke test), `--no-write`.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Contender, LibraryInfo, Prepared } from './lib/contender.js';
import { describeMachine, vidaxCommit, type Machine } from './lib/machine.js';
import { flops, makeInstance, reportsThroughput, title, WORKLOADS, type Instance, type WorkloadKind } from './lib/workloads.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

const { values: opts } = parseArgs({
  options: {
    child: { type: 'boolean', default: false },
    out: { type: 'string' },
    threads: { type: 'string' },
    only: { type: 'string' },
    budget: { type: 'string', default: '12' },
    quick: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
  },
});

const workloads: WorkloadKind[] = opts.only
  ? opts.only.split(',').map((s) => {
      const w = s.trim() as WorkloadKind;
      if (!WORKLOADS.includes(w)) throw new Error(`--only: unknown workload '${s}' (one of ${WORKLOADS.join(', ')})`);
      return w;
    })
  : [...WORKLOADS];

// ------------------------------------------------------------------------------ results

interface ContenderInfo {
  id: string;
  label: string;
  isVidax: boolean;
  threads: number | null;
}
interface Check {
  ok: boolean;
  /** max |Δ| / max |ref| over all outputs. */
  err: number;
  detail?: string;
}
interface Result {
  workload: WorkloadKind;
  title: string;
  flops: number;
  contender: ContenderInfo;
  unsupported?: string;
  error?: string;
  check?: Check;
  warmup?: number[];
  samples?: number[];
}
interface ChildReport {
  threads: number;
  /** vidax's registered backends as this process saw them. */
  vidaxBackends: string[];
  warmups: number;
  libraries: LibraryInfo[];
  loadFailures: string[];
  results: Result[];
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const message = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 200);

// ------------------------------------------------------------------------------ one process

function compare(outs: Float32Array[], ref: Float32Array[]): Check {
  if (outs.length !== ref.length) return { ok: false, err: Infinity, detail: `${outs.length} outputs, expected ${ref.length}` };
  let scale = 0;
  for (const r of ref) for (const v of r) scale = Math.max(scale, Math.abs(v));
  scale ||= 1;
  let ok = true, err = 0;
  for (let i = 0; i < ref.length; i++) {
    const [a, r] = [outs[i], ref[i]];
    if (a.length !== r.length) return { ok: false, err: Infinity, detail: `output ${i} has ${a.length} elements, expected ${r.length}` };
    for (let j = 0; j < r.length; j++) {
      const d = Math.abs(a[j] - r[j]);
      if (!(d <= 1e-3 * Math.abs(r[j]) + 1e-4 * scale)) ok = false; // NaN fails too
      err = Math.max(err, Number.isNaN(d) ? Infinity : d / scale);
    }
  }
  return { ok, err };
}

async function timeRun(p: Prepared): Promise<number> {
  const t0 = performance.now();
  await p.run();
  return performance.now() - t0;
}

async function child(threads: number, outPath: string): Promise<void> {
  const libraries: LibraryInfo[] = [];
  const loadFailures: string[] = [];
  const contenders: Contender[] = [];

  const vidax = await import('./lib/vidax.js');
  contenders.push(...vidax.vidaxContenders(threads));
  const load = async (name: string, f: () => Promise<Contender[]>) => {
    try {
      contenders.push(...(await f()));
    } catch (e) {
      loadFailures.push(`${name}: ${message(e)}`);
    }
  };
  await load('tfjs', async () => {
    const m = await import('./lib/tfjs.js');
    if (threads === 1) libraries.push(await m.loadTfjs());
    return m.tfjsContenders(threads);
  });
  await load('jax-js', async () => {
    const m = await import('./lib/jaxjs.js');
    libraries.push(await m.loadJaxjs(threads));
    return m.jaxjsContenders(threads);
  });
  await load('onnxruntime-node', async () => {
    const m = await import('./lib/ort.js');
    libraries.push(m.loadOrt());
    return m.ortContenders(threads);
  });
  const tag = (c: Contender) => `${c.label} (${c.threads === null ? 'default threads' : `${c.threads}T`})`;
  console.log(`[${threads} thread${threads > 1 ? 's' : ''}] ${contenders.map(tag).join(', ')}`);
  for (const f of loadFailures) console.log(`  not available: ${f}`);

  const budgetMs = Number(opts.budget) * 1000;
  /** Idle pause, then one untimed run, before each timed run in multi-threaded processes. */
  const SETTLE_MS = 25;
  const primed = threads > 1;
  const [warmups, minRounds, maxRounds] = opts.quick ? [1, 3, 3] : [2, 10, 50];
  const results: Result[] = [];
  for (const kind of workloads) {
    const info = (c: Contender): ContenderInfo => ({ id: c.id, label: c.label, isVidax: c.isVidax, threads: c.threads });

    // Numerical agreement on a small instance, against vidax's cpu backend.
    const small = makeInstance(kind, true);
    const ref = await vidax.vidaxReference(small);
    const checks = new Map<string, Check | { unsupported: string } | { error: string }>();
    for (const c of contenders) {
      try {
        const p = await c.prepare(small);
        if ('unsupported' in p) {
          checks.set(c.id, p);
          continue;
        }
        const outs = (await p.run()).map((a) => Float32Array.from(a));
        checks.set(c.id, compare(p.canonical ? p.canonical(outs) : outs, ref));
        p.dispose();
      } catch (e) {
        checks.set(c.id, { error: message(e) });
      }
    }

    // Timing on the full instance, alternating between libraries.
    const inst: Instance = makeInstance(kind, false);
    const live: { p: Prepared; r: Result }[] = [];
    for (const c of contenders) {
      const r: Result = { workload: kind, title: title(inst), flops: flops(inst), contender: info(c) };
      results.push(r);
      const chk = checks.get(c.id);
      if (chk && 'unsupported' in chk) {
        r.unsupported = chk.unsupported;
        continue;
      }
      if (chk && 'error' in chk) {
        r.error = chk.error;
        continue;
      }
      if (chk) r.check = chk;
      try {
        const p = await c.prepare(inst);
        if ('unsupported' in p) r.unsupported = p.unsupported;
        else live.push({ p, r });
      } catch (e) {
        r.error = message(e);
      }
    }
    for (const e of live) {
      e.r.warmup = [];
      try {
        for (let i = 0; i < warmups; i++) e.r.warmup.push(await timeRun(e.p));
      } catch (err) {
        e.r.error = message(err);
      }
    }
    const running = live.filter((e) => !e.r.error);
    const perRound = (primed ? 2 : 1) * running.reduce((s, e) => s + (e.r.warmup?.at(-1) ?? 0), 0);
    const rounds = Math.min(maxRounds, Math.max(minRounds, Math.ceil(budgetMs / Math.max(perRound, 1e-3))));
    for (const e of running) e.r.samples = [];
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < running.length; i++) {
        const e = running[(round + i) % running.length];
        if (e.r.error) continue;
        // With several threads, let the previous library's pool go idle first (pools that spin
        // after a run, as ONNX Runtime's does by default, would take a core from the next), then
        // wake this library's workers with an untimed run.
        try {
          if (primed) {
            await new Promise((r) => setTimeout(r, SETTLE_MS));
            await timeRun(e.p);
          }
          e.r.samples!.push(await timeRun(e.p));
        } catch (err) {
          e.r.error = message(err);
        }
      }
    }
    for (const e of live) e.p.dispose();
    const line = results
      .filter((r) => r.workload === kind)
      .map((r) => `${r.contender.label} ${r.samples?.length ? `${median(r.samples).toFixed(1)} ms` : (r.unsupported ?? r.error ?? '-')}${r.check && !r.check.ok ? ' [MISMATCH]' : ''}`);
    console.log(`  ${kind} (${rounds} rounds): ${line.join(', ')}`);
  }
  const report: ChildReport = { threads, vidaxBackends: vidax.vidaxBackends(), warmups, libraries, loadFailures, results };
  writeFileSync(outPath, JSON.stringify(report));
}

// ------------------------------------------------------------------------------ report

const fmt = (v: number): string => (!Number.isFinite(v) ? '—' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toPrecision(2));
const columnKey = (c: ContenderInfo) => `${c.id}@${c.threads ?? 'default'}`;
const columnLabel = (c: ContenderInfo) => `${c.label} (${c.threads === null ? 'default threads' : `${c.threads}T`})`;
const gflops = (r: Result) => (r.flops && r.samples?.length ? r.flops / (median(r.samples) / 1e3) / 1e9 : NaN);

function cell(r: Result | undefined): string {
  if (!r) return '';
  if (r.unsupported) return `n/a (${r.unsupported})`;
  if (r.error) return 'error';
  if (!r.samples?.length) return '—';
  const v = reportsThroughput(r.workload) ? gflops(r) : median(r.samples);
  return fmt(v) + (r.check && !r.check.ok ? ' ✗' : '');
}

function markdown(machine: Machine, reports: ChildReport[], date: string, commit: string, vidaxVersion: string, backends: string[], load: [number, number]): string {
  const all = reports.flatMap((r) => r.results);
  const columns: ContenderInfo[] = [];
  for (const r of all) if (!columns.some((c) => columnKey(c) === columnKey(r.contender))) columns.push(r.contender);
  // vidax first, then each library in load order with its thread counts ascending.
  const ids = [...new Set(columns.map((c) => c.id))];
  const firstSeen = (c: ContenderInfo) => ids.indexOf(c.id);
  const order = (c: ContenderInfo) => (c.isVidax ? 0 : 1e6) + firstSeen(c) * 1e3 + (c.threads ?? 0);
  columns.sort((a, b) => order(a) - order(b));
  const find = (w: WorkloadKind, c: ContenderInfo) => all.find((r) => r.workload === w && columnKey(r.contender) === columnKey(c));
  const titleOf = (w: WorkloadKind) => all.find((r) => r.workload === w)?.title ?? w;
  const unitOf = (w: WorkloadKind) => (reportsThroughput(w) ? 'GFLOP/s' : 'ms');
  const runs = all.flatMap((r) => (r.samples?.length ? [r.samples.length] : []));

  const L: string[] = [];
  L.push(`# vidax vs peers, ${date}, ${machine.label}`, '');
  L.push('Generated by `npm run bench` (`bench/peers.ts`).', '');
  L.push('## Machine', '');
  L.push(`- CPU: ${machine.cpu} (${machine.cpuDetail})`);
  L.push(`- ${machine.cores} cores available to Node, ${machine.memoryGiB} GiB memory, ${machine.os}`);
  L.push(`- Node ${machine.node} (V8 ${machine.v8})`);
  L.push(`- load average (1 min) before / after the run: ${load[0].toFixed(2)} / ${load[1].toFixed(2)} (other processes share the cores; multi-threaded figures suffer first)`, '');
  L.push('## Libraries', '');
  L.push(`- vidax ${vidaxVersion}${commit ? ` (commit ${commit})` : ''}: backends ${backends.join(', ')}; \`jit\` for chain, softmax and the MLP gradient`);
  const libs = new Map<string, LibraryInfo>();
  for (const rep of reports) for (const l of rep.libraries) if (!libs.has(l.name)) libs.set(l.name, l);
  for (const l of libs.values()) L.push(`- ${l.name} ${l.version}: ${l.notes.join('; ')}`);
  const failures = [...new Set(reports.flatMap((r) => r.loadFailures))];
  for (const f of failures) L.push(`- not available: ${f}`);
  L.push('');
  L.push('## Results', '');
  const range = (xs: number[]) => (Math.min(...xs) === Math.max(...xs) ? `${xs[0]}` : `${Math.min(...xs)}–${Math.max(...xs)}`);
  L.push(`Median of ${range(runs)} runs after ${range(reports.map((r) => r.warmups))} warm-up run(s), libraries alternating run by run within each process (when multi-threaded, each timed run follows a 25 ms idle pause and one untimed run of the same library, so its workers are awake); one process per thread count. ` +
    'A run computes from inputs already in the library and reads all outputs back to a JS typed array. ' +
    'GFLOP/s: higher is better; ms: lower is better. ✗: failed the numerical check.', '');
  L.push(`| workload | ${columns.map(columnLabel).join(' | ')} |`);
  L.push(`|---|${columns.map(() => '---:').join('|')}|`);
  for (const w of workloads) L.push(`| ${titleOf(w)}, ${unitOf(w)} | ${columns.map((c) => cell(find(w, c))).join(' | ')} |`);
  L.push('');

  const vidaxCols = columns.filter((c) => c.isVidax);
  const peerCols = columns.filter((c) => !c.isVidax);
  L.push('### vidax / peer', '');
  L.push('Speed ratio = peer median time ÷ vidax median time (> 1: vidax is faster), for each vidax backend against each peer configuration.', '');
  L.push(`| workload | vidax | ${peerCols.map(columnLabel).join(' | ')} |`);
  L.push(`|---|---|${peerCols.map(() => '---:').join('|')}|`);
  for (const w of workloads)
    for (const v of vidaxCols) {
      const vr = find(w, v);
      if (!vr?.samples?.length) continue;
      const cells = peerCols.map((p) => {
        const pr = find(w, p);
        if (pr?.unsupported) return `n/a (${pr.unsupported})`;
        if (!pr?.samples?.length) return '—';
        return `${fmt(median(pr.samples) / median(vr.samples!))}×`;
      });
      L.push(`| ${w} | ${columnLabel(v)} | ${cells.join(' | ')} |`);
    }
  L.push('');

  L.push('### Numerical agreement', '');
  L.push('Small instance of each workload (matmul 40×56·56×72, conv 2×5×7×6 → 4 channels, chain 1000, softmax 16×33, MLP width 24 batch 8) against vidax `cpu`: max |Δ| / max |ref|; passes if every |Δ| ≤ 1e-3·|ref| + 1e-4·max|ref|.', '');
  L.push(`| workload | ${columns.map(columnLabel).join(' | ')} |`);
  L.push(`|---|${columns.map(() => '---:').join('|')}|`);
  for (const w of workloads)
    L.push(`| ${w} | ${columns
      .map((c) => {
        const r = find(w, c);
        if (!r) return '';
        if (r.unsupported) return 'n/a';
        if (r.error) return 'error';
        if (!r.check) return '—';
        return `${r.check.err === 0 ? '0' : r.check.err.toExponential(1)} ${r.check.ok ? 'ok' : '✗'}`;
      })
      .join(' | ')} |`);
  L.push('');

  L.push('### Details', '');
  L.push('| workload | library | threads | median ms | min ms | max ms | runs | GFLOP/s |');
  L.push('|---|---|---:|---:|---:|---:|---:|---:|');
  for (const w of workloads)
    for (const c of columns) {
      const r = find(w, c);
      if (!r) continue;
      const t = c.threads === null ? 'default' : String(c.threads);
      if (!r.samples?.length) {
        L.push(`| ${w} | ${c.label} | ${t} | ${r.unsupported ? `n/a (${r.unsupported})` : `error: ${r.error ?? 'no samples'}`} | | | | |`);
        continue;
      }
      const s = r.samples;
      L.push(`| ${w} | ${c.label} | ${t} | ${fmt(median(s))} | ${fmt(Math.min(...s))} | ${fmt(Math.max(...s))} | ${s.length} | ${r.flops ? fmt(gflops(r)) : ''} |`);
    }
  const problems = all.filter((r) => r.error || (r.check && !r.check.ok));
  if (problems.length) {
    L.push('', '### Errors and failed checks', '');
    for (const r of problems)
      L.push(`- ${r.workload}, ${columnLabel(r.contender)}: ${r.error ?? `numerical check failed, max |Δ| / max |ref| = ${r.check!.err.toExponential(2)}${r.check!.detail ? ` (${r.check!.detail})` : ''}`}`);
  }
  L.push('');
  return L.join('\n');
}

// ------------------------------------------------------------------------------ main

async function runChild(threads: number, dir: string): Promise<ChildReport> {
  const out = path.join(dir, `threads-${threads}.json`);
  const args = [...process.execArgv, fileURLToPath(import.meta.url), '--child', `--threads=${threads}`, `--out=${out}`, `--budget=${opts.budget}`, `--only=${workloads.join(',')}`];
  if (opts.quick) args.push('--quick');
  const code = await new Promise<number | null>((resolve) => spawn(process.execPath, args, { stdio: 'inherit', cwd: root }).on('exit', resolve));
  if (code !== 0) throw new Error(`benchmark process for ${threads} thread(s) exited with code ${code}`);
  return JSON.parse(readFileSync(out, 'utf8')) as ChildReport;
}

async function main(): Promise<void> {
  const machine = describeMachine();
  const threadCounts = opts.threads
    ? opts.threads.split(',').map(Number)
    : [...new Set([1, machine.cores])];
  if (threadCounts.some((t) => !Number.isInteger(t) || t < 1)) throw new Error(`--threads: expected positive integers, got '${opts.threads}'`);
  const t0 = performance.now();
  const loadBefore = os.loadavg()[0];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vidax-bench-'));
  const reports: ChildReport[] = [];
  try {
    for (const t of threadCounts) reports.push(await runChild(t, dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
  const date = new Date().toISOString().slice(0, 10);
  const md = markdown(machine, reports, date, vidaxCommit(root), pkg.version, [...new Set(reports.flatMap((r) => r.vidaxBackends))], [loadBefore, os.loadavg()[0]]);
  console.log(`\n${md}`);
  if (!opts.quick && !opts['no-write']) {
    const file = path.join(here, 'results', `${date}-${machine.label}.md`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, md);
    console.log(`written to ${path.relative(root, file)}`);
  }
  console.log(`total ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

if (opts.child) {
  await child(Number(opts.threads), opts.out!);
  process.exit(0); // worker threads (jax-js's pool) would otherwise keep the process alive
} else {
  await main();
}
