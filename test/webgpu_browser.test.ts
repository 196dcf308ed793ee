/**
 * WebGPU in a real browser: headless Chromium (Debian's `chromium`, driven by `playwright-core`;
 * on machines without a GPU its adapter is SwiftShader) runs
 * - the WebGPU parity case groups (`webgpu_checks.ts` over `parity_cases.ts` and
 *   `props/prim_cases.ts`: every primitive on smooth and edge data, elementwise edge pairs, the
 *   jit cases, the grad/vmap/jvp cases) against vidax's CPU oracle in the same page, with the
 *   tolerances of `webgpu_parity.test.ts`; each group is one test here, failing with the
 *   elements that differ (the Node suite's hand-built constant-operand kernels, memory and
 *   runtime tests stay there: thousands of one-off pipelines would take minutes on SwiftShader);
 * - the web demo (examples/web/): the values it shows for WebGPU must match this process's
 *   CPU oracle on the same function and data.
 *
 * How (platform notes, `browser/chromium.ts`): the page and vidax are bundled with esbuild into
 * a temporary folder, served from 127.0.0.1 by a server started here, and Chromium is launched
 * with WebGPU enabled and a fresh user-data-dir. The page reports to Node through an exposed
 * function.
 *
 * Without Chromium (env CHROMIUM_PATH, default /usr/bin/chromium) or without a WebGPU adapter
 * in it, the tests fail in CI (env CI set, not "false") and are skipped elsewhere.
 * Env: WEBGPU_BROWSER_RUNS specs per primitive (default 1: the Node suite sweeps more);
 * WEBGPU_BROWSER_CONSOLE=1 echoes the page's console.
 * Takes ~12 s here: launch and bundles ~2 s, the groups ~8 s on SwiftShader (most of it
 * compiling pipelines), the demo ~2 s.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bundleWebDemo } from '../examples/web/serve.js';
import { SHAPES, computeAll, operandData } from '../examples/web/computations.js';
import { np } from '../src/index.js';
import { bundlePage, IN_CI, loadReportingPage, serveDirectory, withChromium, type Session } from './browser/chromium.js';
import type { PageMessage } from './browser/parity_page.js';
import { assertGroupPassed, type GroupResult } from './webgpu_checks.js';

const RUNS = Number(process.env.WEBGPU_BROWSER_RUNS ?? 1);
/** The whole page (all groups) must report within this. */
const PAGE_TIMEOUT_MS = 180_000;

const here = path.dirname(fileURLToPath(import.meta.url));

/** Bundle the parity page into `dir` (index.html + parity_page.js). */
function bundleParityPage(dir: string): Promise<void> {
  return bundlePage(dir, {
    entries: [path.join(here, 'browser', 'parity_page.ts')],
    title: 'vidax webgpu parity',
    // The case tables read their seed and run count from the environment.
    define: { 'process.env.PROPS_SEED': JSON.stringify(process.env.PROPS_SEED ?? '42'), 'process.env.PROPS_RUNS': JSON.stringify(String(RUNS)) },
  });
}

/** Load the parity page and collect its messages until it is done (a failure to load or finish becomes an `error` message). */
function runParityPage(s: Session, dir: string): Promise<PageMessage[]> {
  return loadReportingPage<PageMessage>(s, dir, {
    query: `runs=${RUNS}`,
    timeoutMs: PAGE_TIMEOUT_MS,
    onMessage: (m) => {
      const g = m as PageMessage;
      if (g.kind === 'group') console.log(`browser: ${g.result.group}: ${g.result.checked} cases, ${g.result.failures.length} mismatches, ${g.result.ms} ms`);
    },
  });
}

/** Load the demo page and read the values it shows: per result, the WebGPU and CPU columns. */
async function readDemoPage(s: Session, dir: string): Promise<{ adapter: string; status: string; error: string; tables: Record<string, { gpu: number[]; cpu: number[] }> }> {
  const served = await serveDirectory(dir);
  try {
    await s.page.goto(served.url);
    await s.page.waitForFunction("document.body.dataset.status !== 'running'", undefined, { timeout: 60_000 });
    // A string, not a function: the test runner's transform would add helpers the page lacks.
    return await s.page.evaluate(`(() => {
      const tables = {};
      for (const t of Array.from(document.querySelectorAll('table[data-result]'))) {
        const col = (cls) => Array.from(t.querySelectorAll('td.' + cls)).map((c) => Number(c.dataset.value));
        tables[t.dataset.result] = { gpu: col('gpu'), cpu: col('cpu') };
      }
      return {
        adapter: document.getElementById('adapter').textContent,
        status: document.body.dataset.status,
        error: document.getElementById('error').textContent,
        tables,
      };
    })()`);
  } finally {
    await served.close();
  }
}

// ------------------------------------------------------------------ the session

/** Run the browser session, then register the tests on what it saw. */
async function register(): Promise<void> {
  const ran = await withChromium('webgpu browser suite (headless Chromium)', async (session, work) => {
    const parityDir = path.join(work, 'parity');
    await bundleParityPage(parityDir);
    const messages = await runParityPage(session, parityDir);
    const demo = await readDemoPage(session, await bundleWebDemo(path.join(work, 'demo'))).catch((e: Error) => e);
    return { messages, demo };
  });
  if (ran) {
    const { session, result: { messages, demo } } = ran;
    const adapter = messages.find((m) => m.kind === 'adapter');
    const noAdapter = messages.find((m) => m.kind === 'no-adapter');
    const pageError = messages.find((m) => m.kind === 'error');
    if (!adapter) {
      const reason = noAdapter?.error ?? pageError?.error ?? `the page sent no adapter (page errors: ${session.pageErrors.join('; ') || 'none'})`;
      if (IN_CI || !noAdapter) test('Chromium has a WebGPU adapter (the browser WebGPU suite must run in CI)', () => assert.unreachable(reason));
      else {
        console.log(`webgpu browser suite skipped: no WebGPU adapter in Chromium (${reason})`);
        test.skip(`webgpu browser suite (no WebGPU adapter in Chromium: ${reason})`, () => {});
      }
    } else {
      console.log(`browser webgpu: ${adapter.adapter} via ${adapter.via}; workgroups of ${adapter.workgroupSize}`);

      test('browser: the parity page ran to the end without an uncaught error', () => {
        assert.not.ok(pageError, pageError?.error);
      });

      const groups = messages.flatMap((m) => (m.kind === 'group' ? [m.result] : []));
      const expected = ['every primitive (eager, smooth and edge data)', 'elementwise primitives on every pair of edge values', 'jit-compiled fused functions (and eagerly)', 'grad, vmap and jvp compositions'];
      for (const name of expected)
        test(`browser webgpu: ${name} equal the cpu oracle`, () => {
          const g: GroupResult | undefined = groups.find((r) => r.group === name);
          assert.ok(g, `the page reported no group '${name}'`);
          assertGroupPassed(g);
        });

      test('browser: the web demo shows WebGPU results equal to the cpu oracle', async () => {
        if (demo instanceof Error) throw demo;
        assert.is(demo.status, 'done', `the demo page failed: ${demo.error}`);
        assert.match(demo.adapter, /navigator\.gpu/);
        const d = operandData();
        const arr = (k: keyof typeof SHAPES) => np.array(d[k]).reshape([...SHAPES[k]]);
        const want = await computeAll({ w1: arr('w1'), w2: arr('w2') }, arr('x'));
        assert.equal(Object.keys(demo.tables).sort(), Object.keys(want).sort());
        for (const [name, w] of Object.entries(want)) {
          const { gpu, cpu } = demo.tables[name];
          assert.is(gpu.length, w.length, `${name}: values shown`);
          assert.is(cpu.length, w.length, `${name}: cpu values shown`);
          const scale = Math.max(...w.map(Math.abs));
          for (let i = 0; i < w.length; i++) {
            // Composite tolerance of the parity suites: f32 on the GPU against the oracle.
            const tol = 1e-4 * Math.abs(w[i]) + 1e-5 * scale;
            assert.ok(Math.abs(gpu[i] - w[i]) <= tol, `${name}[${i}]: the page shows ${gpu[i]} for WebGPU, the cpu oracle here says ${w[i]}`);
            assert.ok(Math.abs(cpu[i] - w[i]) <= tol, `${name}[${i}]: the page shows ${cpu[i]} for the cpu, the cpu oracle here says ${w[i]}`);
          }
        }
      });
    }
  }
}

await register();
test.run();
