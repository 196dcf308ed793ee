/**
 * The wasm backend in a real browser: headless Chromium (`test/browser/chromium.ts`) loads a
 * page (`browser/wasm_page.ts`, bundled with esbuild) that runs the computations of
 * `browser/wasm_cases.ts` (jit-fused chain, softmax, matmul, conv, the gradient of an MLP,
 * sort, cumsum, random) on the wasm backend against the cpu oracle in the same page:
 * - on the main thread with `config.threads = 0`: the main thread may not block in
 *   `Atomics.wait`, so the backend must stay single-threaded (no pool), without an error;
 * - in a module Web Worker with `setThreads(2)` at sizes above the backend's parallel
 *   thresholds, twice: first as the pool is created (the browser starts its nested worker,
 *   from a Blob URL, only once the calling thread yields, so the pool runs the worker's parts
 *   on the caller), then, once the worker has started, with the kernels and matmuls split
 *   over it (the pool's job count rises during each such computation). Both times the results
 *   equal the oracle and are bit-identical to a single-thread run.
 * The page is loaded twice: served with cross-origin isolation headers (COOP same-origin, COEP
 * require-corp: SharedArrayBuffer exists, the wasm memory is shared) and without them (no
 * SharedArrayBuffer: a plain memory, single-threaded everywhere, the same results).
 *
 * Without Chromium the suite fails in CI and is skipped elsewhere (`browserUnavailable`).
 * Takes ~7 s here (launch and bundle ~2 s, each page load ~2 s; without the pool's start-up fix
 * in `wasm_threads.ts` the worker blocked 20 s waiting for a nested worker that could not start).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bundlePage, CROSS_ORIGIN_ISOLATION, loadReportingPage, withChromium } from './browser/chromium.js';
import type { CaseReport, Mismatch, SuiteReport, WasmPageMessage, Where } from './browser/wasm_cases.js';

/** Each page load (both suites) must finish within this. */
const PAGE_TIMEOUT_MS = 120_000;

const here = path.dirname(fileURLToPath(import.meta.url));

const fmt = (ms: readonly Mismatch[], count: number) => `${count} element(s) differ, first ${ms.map(([i, g, w]) => `[${i}] ${g} vs ${w}`).join(', ')}`;

/** The checks of one suite's results: against the oracle, and (worker) across thread counts. */
function assertResults(s: SuiteReport): void {
  assert.ok(s.cases.length > 0, 'no cases ran');
  for (const c of s.cases) {
    assert.ok(c.elements > 0, `${c.name}: no elements compared`);
    assert.is(c.oracleMismatchCount, 0, `${s.where}, ${c.name}: wasm differs from the cpu oracle (${c.exact ? 'bit for bit' : 'composite bound'}): ${fmt(c.oracleMismatches, c.oracleMismatchCount)}`);
  }
}

function registerLoad(label: string, isolated: boolean, messages: WasmPageMessage[]): void {
  const suites = messages.flatMap((m) => (m.kind === 'suite' ? [m.suite] : []));
  const suite = (where: Where) => {
    const s = suites.find((r) => r.where === where);
    assert.ok(s, `the page reported no ${where} suite (errors: ${messages.flatMap((m) => (m.kind === 'error' ? [m.error] : [])).join('; ') || 'none'})`);
    return s;
  };

  test(`${label}: the page and its worker ran to the end without an error`, () => {
    const errors = messages.flatMap((m) => (m.kind === 'error' ? [m.error] : []));
    assert.equal(errors, []);
    assert.ok(messages.some((m) => m.kind === 'done'), 'the page never sent done');
  });

  test(`${label}: ${isolated ? 'cross-origin isolated, SharedArrayBuffer, shared wasm memory' : 'not isolated, no SharedArrayBuffer, plain wasm memory'} (page and worker)`, () => {
    for (const where of ['main thread', 'worker, pool starting', 'worker'] as const) {
      const s = suite(where);
      assert.is(s.crossOriginIsolated, isolated, `${where}: crossOriginIsolated`);
      assert.is(s.sharedArrayBuffer, isolated, `${where}: SharedArrayBuffer exists`);
      assert.is(s.heapShared, isolated, `${where}: the wasm memory is shared`);
    }
  });

  test(`${label}, main thread (config.threads = 0): single-threaded, no pool, wasm equals the cpu oracle`, () => {
    const s = suite('main thread');
    assert.is(s.threads, 0);
    assert.is(s.pool, null, `the main thread started a pool: ${JSON.stringify(s.pool)}`);
    assert.ok(s.cases.every((c) => c.jobs === 0));
    assertResults(s);
  });

  if (isolated)
    test(`${label}, worker (setThreads(2)): the pool runs 2 threads and splits every large kernel and matmul`, () => {
      const first = suite('worker, pool starting');
      assert.ok(first.pool, 'the first pass created no thread pool (threads unavailable?)');
      assert.is(first.pool.threads, 2, 'pool threads, counting the caller');
      const s = suite('worker');
      assert.is(s.threads, 2);
      assert.ok(s.pool, 'the worker has no thread pool (threads unavailable or a worker failed to start)');
      assert.is(s.pool.threads, 2, 'pool threads, counting the caller');
      assert.is(s.pool.started, 1, 'workers started');
      const split = s.cases.filter((c) => c.splits);
      assert.ok(split.length >= 5, 'cases sized to split');
      for (const c of split) assert.ok(c.jobs > 0, `${c.name}: no job was split over the workers`);
      assert.ok(s.pool.jobs >= split.reduce((n, c) => n + c.jobs, 0));
    });
  else
    test(`${label}, worker (setThreads(2)): no SharedArrayBuffer, so single-threaded without a pool`, () => {
      for (const where of ['worker, pool starting', 'worker'] as const) {
        const s = suite(where);
        assert.is(s.threads, 2);
        assert.is(s.pool, null, `${where}: a pool started without SharedArrayBuffer: ${JSON.stringify(s.pool)}`);
        assert.ok(s.cases.every((c) => c.jobs === 0));
      }
    });

  for (const where of ['worker, pool starting', 'worker'] as const)
    test(`${label}, ${where}: wasm equals the cpu oracle, and 2 threads give the same bits as 1`, () => {
      const s = suite(where);
      assertResults(s);
      for (const c of s.cases as CaseReport[]) {
        assert.ok(c.threadMismatches, `${c.name}: no single-thread run`);
        assert.is(c.threadMismatchCount, 0, `${c.name}: 2 threads and 1 thread differ: ${fmt(c.threadMismatches, c.threadMismatchCount)}`);
      }
    });
}

async function register(): Promise<void> {
  const ran = await withChromium('wasm browser suite (headless Chromium)', async (session, work) => {
    const loads: [string, boolean, WasmPageMessage[]][] = [];
    await bundlePage(work, { entries: [path.join(here, 'browser', 'wasm_page.ts'), path.join(here, 'browser', 'wasm_worker.ts')], title: 'vidax wasm backend' });
    for (const [label, headers] of [['cross-origin isolated', CROSS_ORIGIN_ISOLATION], ['without isolation headers', undefined]] as const) {
      const messages = await loadReportingPage<WasmPageMessage>(session, work, {
        headers,
        timeoutMs: PAGE_TIMEOUT_MS,
        onMessage: (m) => {
          const r = m as WasmPageMessage;
          if (r.kind === 'suite') console.log(`browser wasm, ${label}, ${r.suite.where}: ${r.suite.cases.map((c) => `${c.name} ${c.ms} ms${c.jobs ? ` (${c.jobs} split jobs)` : ''}`).join('; ')}`);
        },
      });
      loads.push([label, headers !== undefined, messages]);
    }
    return loads;
  });
  for (const [label, isolated, messages] of ran?.result ?? []) registerLoad(label, isolated, messages);
}

await register();
test.run();
