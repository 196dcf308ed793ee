/**
 * Running lowered programs, and the compile cache behind eager `jit` calls.
 *
 * `runProgram` executes a `Program` on the backend of its inputs. Inputs are read in place
 * through their views (a program is specialised per input layout, so a transposed or
 * broadcast argument needs no copy). Intermediates live in raw backend buffers drawn from
 * a per-run pool bucketed by dtype and size: a buffer is returned to the pool at its last
 * use and reused by the next allocation of the same bucket, and the pool is emptied when
 * the run ends, so a program holds no buffers between runs. Routine and interpreted steps
 * take and return arrays; their results are made row-major (kernels read intermediates as
 * row-major) and disposed at their last use. A run of kernels whose reads of one another are
 * row-local (`row_groups.ts`) goes to the backend's `runRows` where it has one (cache blocking
 * across kernels on the wasm backend), else its kernels run one by one.
 *
 * `compileJaxpr` optimises and lowers a jaxpr once (cached on the Jaxpr object), and this
 * module installs `runJit` as the eager implementation of the `jit` primitive.
 */
import { NDArray, scope } from '../array.js';
import { defaultBackend, type Backend, type DeviceBuffer } from '../backends/backend.js';
import { config } from '../config.js';
import { storageOf, type DType } from '../dtype.js';
import { FloatingPointError, ValueError } from '../errors.js';
import type { Jaxpr, Literal } from '../ir/jaxpr.js';
import { optimize } from '../ir/passes/index.js';
import { setJitRunner } from '../prims/jit.js';
import { rulesOf } from '../trace/rule_table.js';
import type { Value } from '../trace/value.js';
import { lowerJaxpr, type InputLayout, type KernelStep, type Program } from './lower.js';
import { rowGroups } from './row_groups.js';
import { runFused } from './run_fused.js';

/** Raw buffers of one run, reused by (dtype, size) and released when the run ends. */
class BufferPool {
  private free = new Map<string, DeviceBuffer[]>();
  private owned = new Set<DeviceBuffer>();
  constructor(private backend: Backend) {}

  alloc(dtype: DType, size: number): DeviceBuffer {
    const b = this.free.get(`${dtype}:${size}`)?.pop() ?? this.backend.alloc(dtype, size);
    this.owned.add(b);
    return b;
  }
  release(b: DeviceBuffer): void {
    const key = `${b.dtype}:${b.size}`;
    const list = this.free.get(key);
    if (list) list.push(b);
    else this.free.set(key, [b]);
  }
  /** The buffer leaves the pool (an array now owns it). */
  handOver(b: DeviceBuffer): void {
    this.owned.delete(b);
  }
  /** Free every buffer still owned (all of them after an error). */
  drain(): void {
    for (const b of this.owned) this.backend.free(b);
    this.owned.clear();
    this.free.clear();
  }
}

type Entry = { buf: DeviceBuffer } | { arr: NDArray; input?: boolean };

function literalArray(backend: Backend, lit: Literal): NDArray {
  const v = typeof lit.value === 'boolean' ? (lit.value ? 1 : 0) : lit.value;
  return NDArray.fromData(backend, new (storageOf(lit.aval.dtype))([v]), [], lit.aval.dtype, lit.aval.weakType);
}

/** Run a program on arrays (jaxpr inputs, constvars first); returns fresh output arrays. */
export function runProgram(p: Program, inputs: readonly NDArray[]): NDArray[] {
  if (inputs.length !== p.numInputs) throw new ValueError(`jit: program expects ${p.numInputs} inputs, got ${inputs.length}`);
  const backend = inputs[0]?.backend ?? defaultBackend();
  for (const a of inputs)
    if (a.backend !== backend) throw new ValueError(`jit: inputs live on different backends (${inputs.map((x) => x.backend.name).join(', ')}); use devicePut`);
  const pool = new BufferPool(backend);
  return scope(
    () => {
      try {
        return execute(p, inputs, backend, pool);
      } finally {
        pool.drain();
      }
    },
    (outs) => outs,
  );
}

function execute(p: Program, inputs: readonly NDArray[], backend: Backend, pool: BufferPool): NDArray[] {
  const env: (Entry | undefined)[] = new Array(p.avals.length);
  inputs.forEach((a, i) => (env[i] = { arr: a, input: true }));
  const entry = (r: number): Entry => {
    const e = env[r];
    if (!e) throw new Error(`jit: buffer ${r} read before it was written`);
    return e;
  };
  const bufferOf = (r: number): DeviceBuffer => {
    const e = entry(r);
    return 'buf' in e ? e.buf : e.arr.buffer;
  };
  const arrayOf = (r: number): NDArray => {
    const e = entry(r);
    if ('arr' in e) return e.arr;
    // The raw buffer becomes an array's (it is then freed by disposing the array).
    pool.handOver(e.buf);
    const a = p.avals[r];
    const arr = NDArray.fromBuffer(backend, e.buf, a.shape, a.dtype, a.weakType);
    env[r] = { arr };
    return arr;
  };
  const release = (r: number): void => {
    const e = env[r];
    env[r] = undefined;
    if (!e) return;
    if ('buf' in e) pool.release(e.buf);
    else if (!e.input) e.arr.dispose();
  };
  // A row group: every output allocated before any of the group's buffers is released (the
  // kernels run interleaved by blocks of rows, so no output may reuse another's buffer).
  const runRowGroup = (ks: readonly KernelStep[]): void => {
    for (const k of ks) env[k.out] = { buf: pool.alloc(p.avals[k.out].dtype, p.avals[k.out].size) };
    backend.runRows!(ks.map((k) => ({ kernel: k.kernel, inputs: k.args.map(bufferOf), out: bufferOf(k.out) })));
    if (config.debugNans) for (const k of ks) if (p.avals[k.out].dtype === 'float32') checkNans(backend, bufferOf(k.out), k.kernel.label);
    for (const k of ks) for (const r of k.free) release(r);
  };

  const groups = backend.runRows ? new Map(rowGroups(p).map((g) => [g.start, g])) : null;
  for (let at = 0; at < p.steps.length; at++) {
    const s = p.steps[at];
    const group = groups?.get(at);
    if (group) {
      at = group.end - 1;
      runRowGroup(p.steps.slice(group.start, group.end) as KernelStep[]);
      continue;
    }
    if (s.kind === 'kernel') {
      const a = p.avals[s.out];
      const out = pool.alloc(a.dtype, a.size);
      if (a.size > 0) backend.run(s.kernel, s.args.map(bufferOf), out);
      env[s.out] = { buf: out };
      if (config.debugNans && a.dtype === 'float32') checkNans(backend, out, s.kernel.label);
    } else if (s.kind === 'view') {
      const x = arrayOf(s.arg);
      const rule = rulesOf(s.eqn.prim);
      if (rule.kind !== 'expr' || !rule.view) throw new Error(`jit: ${s.eqn.prim} has no view rule`);
      const aval = s.eqn.outvars[0].aval;
      // A reshape of a non-row-major view has no view: copy the operand first.
      const v = rule.view(x, s.eqn.params, aval) ?? rule.view(x.contiguous(), s.eqn.params, aval);
      if (!v) throw new Error(`jit: ${s.eqn.prim} could not be applied as a view`);
      env[s.out] = { arr: v };
    } else {
      const args = s.args.map((o) => ('ref' in o ? arrayOf(o.ref) : literalArray(backend, o.literal)));
      const rule = rulesOf(s.eqn.prim);
      let outs: Value[];
      if (s.kind === 'routine' && s.fused) outs = [runFused(s.fused, args, s.eqn.outvars[0].aval)];
      else if (rule.kind === 'routine') outs = rule.impl(args, s.eqn.params, s.eqn.outvars.map((v) => v.aval));
      else if (rule.kind === 'interpret') outs = rule.impl(args, s.eqn.params);
      else throw new Error(`jit: ${s.eqn.prim} is an expression primitive, not a call`);
      s.outs.forEach((r, k) => {
        const o = outs[k];
        if (!(o instanceof NDArray)) throw new Error(`jit: ${s.eqn.prim} did not return an array`);
        const c = o.contiguous();
        if (c !== o && !args.includes(o)) o.dispose();
        env[r] = { arr: c === o && args.includes(o) ? c.view(c.aval, c.strides, c.offset) : c };
      });
    }
    for (const r of s.free) release(r);
  }

  return p.outputs.map((o, k) => {
    const aval = p.jaxpr.outvars[k].aval;
    if ('literal' in o) return literalArray(backend, o.literal);
    const e = entry(o.ref);
    if ('buf' in e) return arrayOf(o.ref);
    // An input passed through is returned as a new view (disposing one leaves the other).
    return e.input ? e.arr.view(aval, e.arr.strides, e.arr.offset) : e.arr;
  });
}

/** `config.debugNans` under jit: name the fused kernel (its primitives) that produced the first NaN. */
function checkNans(backend: Backend, buf: DeviceBuffer, label: string): void {
  const error = (at: number) => new FloatingPointError(`debugNans: jit kernel ${label} produced a NaN at flat index ${at}`);
  // No synchronous reads (WebGPU): checked when the value arrives, thrown at the next read.
  if (!backend.hostMemory && backend.checkNansLater) return backend.checkNansLater(buf, error);
  const at = backend.readSync(buf).findIndex((v) => Number.isNaN(v));
  if (at >= 0) throw error(at);
}

// ------------------------------------------------------------------ compile cache

interface Compiled {
  /** The optimised jaxpr (constvars: none, the input jaxpr is open). */
  readonly jaxpr: Jaxpr;
  readonly programs: Map<string, Program>;
}

const compiled = new WeakMap<Jaxpr, Compiled>();
/** Jaxprs that are already the output of `optimize` (not re-optimised). */
const optimizedJaxprs = new WeakSet<Jaxpr>();

/** Mark a jaxpr as optimised, so compiling it skips the passes. */
export function markOptimized(j: Jaxpr): Jaxpr {
  optimizedJaxprs.add(j);
  return j;
}

/** How a kernel should read an array: null when row-major from offset 0 (the default layout). */
function layoutOf(a: NDArray): { key: string; layout: InputLayout | null } {
  let expect = 1;
  let rowMajor = a.offset === 0;
  const strides = a.shape.map((d, i) => (d === 1 ? 0 : a.strides[i]));
  for (let i = a.ndim - 1; i >= 0; i--) {
    if (a.shape[i] !== 1 && a.strides[i] !== expect) rowMajor = false;
    expect *= a.shape[i];
  }
  return rowMajor ? { key: 'c', layout: null } : { key: `${a.offset}@${strides.join(',')}`, layout: a };
}

/** The compiled form of a jaxpr: optimised once, lowered once per input layout. */
export function compileJaxpr(jaxpr: Jaxpr): Compiled {
  let c = compiled.get(jaxpr);
  if (!c) {
    const opt = optimizedJaxprs.has(jaxpr) ? jaxpr : optimize(jaxpr);
    c = { jaxpr: opt, programs: new Map() };
    compiled.set(jaxpr, c);
  }
  return c;
}

/**
 * The program for a jaxpr and these inputs. Views with an offset are copied to row-major
 * first (specialising on offsets would recompile for every slice position); other strided
 * views (transposes, broadcasts, reversals) get a program of their own.
 */
export function programFor(jaxpr: Jaxpr, inputs: readonly NDArray[]): { program: Program; inputs: NDArray[] } {
  const c = compileJaxpr(jaxpr);
  const args = inputs.map((a) => (a.offset !== 0 && !a.isContiguous ? a.contiguous() : a));
  const ls = args.map(layoutOf);
  // A backend with fused routines gets programs of its own (`fused_patterns.ts`).
  const backend = args[0]?.backend ?? defaultBackend();
  const fusing = backend.acceptsFused ? backend : null;
  const key = ls.map((l) => l.key).join(';') + (fusing ? `;fused:${fusing.name}` : '');
  let program = c.programs.get(key);
  if (!program) {
    program = lowerJaxpr(c.jaxpr, { layouts: ls.map((l) => l.layout), acceptsFused: fusing ? (name, p) => fusing.acceptsFused!(name, p) : undefined });
    c.programs.set(key, program);
  }
  return { program, inputs: args };
}

/** The eager `jit`: compile (cached) and run. */
export function runJit(jaxpr: Jaxpr, args: readonly Value[]): NDArray[] {
  const arrays = args.map((a, i) => {
    if (!(a instanceof NDArray)) throw new ValueError(`jit: argument ${i} is not a concrete array`);
    return a;
  });
  return scope(() => {
    const { program, inputs } = programFor(jaxpr, arrays);
    return runProgram(program, inputs);
  }, (outs) => outs);
}

setJitRunner(runJit);
