#!/usr/bin/env node
/**
 * Test runner behind `npm test`.
 *
 * Runs the type check (`tsc --noEmit`, counted as one test named
 * `typecheck`), every notebook in notebooks/ (one test each: the package built
 * for them once, then executed headless by scripts/notebooks.mjs, failing on
 * any cell error) and
 * every `test/**\/*.test.ts` and `props/**\/*.test.ts` file, each in its own
 * `node --import tsx` process, two at a time. Counts come from uvu's
 * "Total/Passed/Skipped" summary; a file that exits non-zero without failing
 * tests in its summary counts as one failed test.
 *
 * Notebooks need Jupyter and the tslab kernel (`npm run notebooks:setup`):
 * without them they count as skipped (with the setup instructions printed),
 * and as failed in CI (env CI set, and not "false").
 *
 * Usage: `npm test [-- substr...]` keeps only jobs whose name contains one of
 * the substrings (`npm test -- conv`, `npm test -- typecheck`).
 * Env: PROPS_SEED (default 42), PROPS_RUNS (passed through),
 * TEST_TIMEOUT_S per-file limit (default 600).
 * The last line printed is always `N passed, M failed[, K skipped]`.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildForNotebooks, executeNotebook, listNotebooks, notebooksUnavailable } from './notebooks.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const JOBS = 2;
const TIMEOUT_MS = Number(process.env.TEST_TIMEOUT_S ?? 600) * 1000;
const env = { ...process.env, PROPS_SEED: process.env.PROPS_SEED || '42' };

/** Test files under `dir`, relative to the repo root, sorted. */
function findTests(dir) {
  const abs = path.join(root, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith('.test.ts'))
    .map((d) => path.relative(root, path.join(d.parentPath ?? d.path, d.name)))
    .filter((f) => !f.split(path.sep).includes('node_modules'))
    .sort();
}

/** Run a command, resolving with its exit code and interleaved output. */
function exec(cmd, args) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, TIMEOUT_MS);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', (e) => (out += `\n${e.stack ?? e}`));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) out += `\n[killed after ${TIMEOUT_MS / 1000}s]`;
      resolve({ code: code ?? (signal ? 1 : 0), out });
    });
  });
}

/** Sum uvu's summary counters found in `out`, or null if there are none. */
function parseSummary(out) {
  const text = out.replace(/\x1b\[[0-9;]*m/g, '');
  const sum = (label) =>
    [...text.matchAll(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'gm'))].reduce((a, m) => a + Number(m[1]), 0);
  if (!/^\s*Total:\s+\d+/m.test(text)) return null;
  return { total: sum('Total'), passed: sum('Passed'), skipped: sum('Skipped') };
}

const typecheck = {
  name: 'typecheck',
  async run() {
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const { code, out } = await exec(process.execPath, [tsc, '-p', 'tsconfig.json', '--noEmit']);
    return { passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1, skipped: 0, out };
  },
};

const fileJob = (file) => ({
  name: file,
  async run() {
    const { code, out } = await exec(process.execPath, ['--import', 'tsx', file]);
    const s = parseSummary(out);
    if (!s) return { passed: 0, failed: 1, skipped: 0, out };
    let failed = s.total - s.passed;
    if (code !== 0 && failed === 0) failed = 1;
    return { passed: s.passed, failed, skipped: s.skipped, out };
  },
});

const inCI = !!process.env.CI && process.env.CI !== 'false';
let notebookSetupHint = null;
let built = null;
/** Build the package once for all notebooks (they import it as a user would; not dist/). */
const buildOnce = () => (built ??= buildForNotebooks());

const notebookJob = (file) => ({
  name: path.relative(root, file),
  async run() {
    const missing = notebooksUnavailable();
    if (missing) {
      if (inCI) return { passed: 0, failed: 1, skipped: 0, out: `Jupyter and the TypeScript kernel are required in CI:\n${missing}` };
      notebookSetupHint = missing;
      return { passed: 0, failed: 0, skipped: 1, out: '' };
    }
    const b = await buildOnce();
    if (!b.ok) return { passed: 0, failed: 1, skipped: 0, out: `building vidax for the notebooks failed:\n${b.log}` };
    const r = await executeNotebook(file, {});
    return { passed: r.ok ? 1 : 0, failed: r.ok ? 0 : 1, skipped: 0, out: r.message };
  },
});

const filters = process.argv.slice(2);
// Notebooks are the longest jobs: start them first so the test files fill the other slot.
const jobs = [typecheck, ...listNotebooks().map(notebookJob), ...[...findTests('test'), ...findTests('props')].map(fileJob)].filter(
  (j) => filters.length === 0 || filters.some((f) => j.name.includes(f)),
);

const started = Date.now();
const totals = { passed: 0, failed: 0, skipped: 0 };
let next = 0;
async function worker() {
  while (next < jobs.length) {
    const job = jobs[next++];
    const t0 = Date.now();
    const r = await job.run();
    totals.passed += r.passed;
    totals.failed += r.failed;
    totals.skipped += r.skipped;
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    const skip = r.skipped ? `, ${r.skipped} skipped` : '';
    console.log(`${r.failed ? 'FAIL' : 'ok  '} ${job.name}  ${r.passed} passed, ${r.failed} failed${skip} (${secs}s)`);
    if (r.failed) console.log(r.out.trimEnd().replace(/^/gm, '    ') + '\n');
  }
}
await Promise.all(Array.from({ length: JOBS }, worker));

if (jobs.length === 0) console.log(`no tests match ${filters.join(' ')}`);
if (notebookSetupHint) console.log(`notebooks skipped: ${notebookSetupHint}`);
console.log(`Duration: ${((Date.now() - started) / 1000).toFixed(1)}s`);
const skipped = totals.skipped ? `, ${totals.skipped} skipped` : '';
console.log(`${totals.passed} passed, ${totals.failed} failed${skipped}`);
process.exitCode = totals.failed ? 1 : 0;
