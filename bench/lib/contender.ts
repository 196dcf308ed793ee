/**
 * What each library adapter provides to the harness: a named configuration (library,
 * backend, thread count) that prepares a workload instance (uploads its inputs into the
 * library's own memory, builds/compiles what it needs) and then runs it on demand.
 *
 * One timed run = compute the result from inputs already resident in the library and read
 * every output back into a JavaScript typed array (what a caller needs to use the result).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Instance } from './workloads.js';

export interface Prepared {
  /** Run once; resolves with the outputs read back to host memory. */
  run(): Promise<Float32Array[]>;
  /** Outputs in the canonical layout of the workload (e.g. NCHW), for the numerical check. */
  canonical?(outs: Float32Array[]): Float32Array[];
  /** Release the library-side inputs and compiled state. */
  dispose(): void;
}

export interface Contender {
  /** Stable id, e.g. `vidax-cpu`, `tfjs-wasm`, `jax-js-wasm`, `ort-cpu`. */
  id: string;
  /** Column label, e.g. `vidax cpu`, `tfjs-wasm`. */
  label: string;
  isVidax: boolean;
  /** Threads it computes on; `null` where the library picks and cannot be told. */
  threads: number | null;
  /** Prepares an instance, or says why the library cannot run this workload. */
  prepare(inst: Instance): Promise<Prepared | { unsupported: string }>;
}

export interface LibraryInfo {
  name: string;
  version: string;
  notes: string[];
}

export const f32 = (a: ArrayLike<number>): Float32Array => (a instanceof Float32Array ? a : Float32Array.from(a));

/** The version in a package's own package.json, found from its entry point (works where `exports` hides the file). */
export function packageVersion(name: string, require: NodeJS.Require): string {
  let dir = path.dirname(require.resolve(name));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === name) return pkg.version ?? '?';
    }
    const up = path.dirname(dir);
    if (up === dir) return '?';
    dir = up;
  }
}
