#!/usr/bin/env node
/**
 * The notebooks' tooling: Jupyter with the TypeScript kernel tslab.
 *
 *   node scripts/notebooks.mjs setup            `npm run notebooks:setup`
 *   node scripts/notebooks.mjs run [nb...]      `npm run notebooks` (default: notebooks/*.ipynb)
 *   node scripts/notebooks.mjs open             `npm run notebooks:open`
 *   node scripts/notebooks.mjs build            `npm run notebooks:build`
 *   node scripts/notebooks.mjs strip [--check] [nb...]   `npm run notebooks:strip`
 *
 * setup: checks that a Python with Jupyter's nbconvert and nbclient exists (and prints how to
 *   install them when not), installs tslab from notebooks/package-lock.json into
 *   notebooks/node_modules (apart from the library's node_modules: tslab brings its own
 *   TypeScript and `tsc`), and installs the kernel spec into the project-local Jupyter path
 *   notebooks/.jupyter.
 * build: builds the package for the notebooks: `build.mjs --outdir` into a fresh
 *   notebooks/.vidax-builds/<id>/ (with the package.json), then atomically points
 *   notebooks/node_modules/vidax at it, so cells `import … from 'vidax'` and `'vidax/display'`
 *   as a user of the installed package would. A build of its own (not dist/) means a concurrent
 *   `npm run build` or test run never changes files under a running kernel; builds older than
 *   an hour are removed.
 * run: builds (as `build`), then executes each notebook headless with nbconvert's
 *   ExecutePreprocessor, stopping at the first failing cell — a type error included, since
 *   tslab type-checks every cell. A failure names the notebook, the cell (1-based, counting
 *   markdown cells, with its first line) and the error. The executed copies go to
 *   notebooks/executed/ (git-ignored; `--output-dir DIR` elsewhere), signed as trusted so that
 *   Jupyter shows their SVG plots. Prints `ok` (with what was shown inline) or `FAIL` per
 *   notebook and closes with `N passed, M failed`. `--no-build` skips the build.
 * open: builds (as `build`) and starts Jupyter (Notebook, or JupyterLab when that is what is
 *   installed) on notebooks/ with the kernel spec on its path. Extra arguments go to Jupyter.
 *   After changing src/, run `npm run notebooks:build` and restart the kernel.
 * strip: removes outputs, execution counts and run metadata, so notebooks are stored clean;
 *   `--check` only reports notebooks that are not clean (exit 1).
 *
 * Env: JUPYTER_PYTHON (the Python whose Jupyter to use; default the first of /usr/bin/python3
 * and python3 that has nbconvert and nbclient), NOTEBOOK_TIMEOUT_S (per-cell limit, default 300;
 * a whole notebook may take twice that).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const notebooksDir = path.join(root, 'notebooks');
const jupyterPrefix = path.join(notebooksDir, '.jupyter');
export const jupyterPath = path.join(jupyterPrefix, 'share', 'jupyter');
const kernelName = 'tslab';
const kernelSpec = path.join(jupyterPath, 'kernels', kernelName, 'kernel.json');
const tslabBin = path.join(notebooksDir, 'node_modules', '.bin', 'tslab');
const vidaxLink = path.join(notebooksDir, 'node_modules', 'vidax');
const buildsDir = path.join(notebooksDir, '.vidax-builds');
const defaultOutputDir = path.join(notebooksDir, 'executed');

const APT_PACKAGES = 'jupyter-nbconvert python3-ipykernel jupyter-client python3-nbclient jupyter-core';
export const INSTALL_HINT = [
  'Jupyter (nbconvert + nbclient) was not found for any Python (tried $JUPYTER_PYTHON, /usr/bin/python3, python3). Install it:',
  `  Debian/Ubuntu:  sudo apt-get install -y ${APT_PACKAGES}`,
  '                  (and jupyter-notebook to open the notebooks in a browser)',
  '  elsewhere:      python3 -m pip install nbconvert nbclient notebook',
  'then run `npm run notebooks:setup`.',
].join('\n');

const rel = (p) => path.relative(process.cwd(), p) || '.';

/** The first Python that can import nbconvert and nbclient, or null. */
export function findPython() {
  const candidates = [process.env.JUPYTER_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean);
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import nbconvert, nbclient, jupyter_client'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return null;
}

/** Why the notebooks cannot run here (null when they can): Jupyter or the kernel is missing. */
export function notebooksUnavailable() {
  if (!findPython()) return INSTALL_HINT;
  if (!existsSync(kernelSpec) || !existsSync(tslabBin))
    return 'The TypeScript kernel (tslab) is not set up for the notebooks: run `npm run notebooks:setup`.';
  return null;
}

/** Environment for Jupyter processes: the project-local kernel spec path first. */
export function jupyterEnv() {
  const existing = process.env.JUPYTER_PATH;
  return { ...process.env, JUPYTER_PATH: existing ? `${jupyterPath}${path.delimiter}${existing}` : jupyterPath };
}

/** Notebooks in notebooks/ (top level), sorted. */
export function listNotebooks() {
  if (!existsSync(notebooksDir)) return [];
  return readdirSync(notebooksDir)
    .filter((f) => f.endsWith('.ipynb'))
    .sort()
    .map((f) => path.join(notebooksDir, f));
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

// ------------------------------------------------------------------ setup

function setup() {
  const py = findPython();
  if (!py) {
    console.error(INSTALL_HINT);
    return 1;
  }
  const version = spawnSync(py, ['-c', 'import nbconvert, nbclient; print(nbconvert.__version__, nbclient.__version__)'], { encoding: 'utf8' });
  const [nbconvertVersion, nbclientVersion] = version.stdout.trim().split(' ');
  console.log(`Jupyter: ${py} (nbconvert ${nbconvertVersion}, nbclient ${nbclientVersion})`);

  // tslab, pinned by notebooks/package-lock.json, in its own node_modules.
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  console.log('installing the TypeScript kernel (tslab) into notebooks/node_modules …');
  if (run(npm, ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: notebooksDir }) !== 0) {
    console.error('notebooks:setup: `npm ci` in notebooks/ failed');
    return 1;
  }
  rmSync(jupyterPrefix, { recursive: true, force: true });
  const install = spawnSync(tslabBin, ['install', `--python=${py}`, `--binary=${tslabBin}`, `--prefix=${jupyterPrefix}`], { encoding: 'utf8' });
  if (install.status !== 0 || !existsSync(kernelSpec)) {
    console.error(`notebooks:setup: installing the tslab kernel spec failed:\n${install.stdout}${install.stderr}`);
    return 1;
  }
  const list = spawnSync(py, ['-m', 'jupyter', 'kernelspec', 'list'], { encoding: 'utf8', env: jupyterEnv() });
  if (!list.stdout.includes(kernelName)) {
    console.error(`notebooks:setup: Jupyter does not list the kernel '${kernelName}':\n${list.stdout}${list.stderr}`);
    return 1;
  }
  console.log(`kernel spec '${kernelName}' installed in ${rel(jupyterPath)} (JUPYTER_PATH)`);
  if (!findServer(py)) console.log('note: `npm run notebooks:open` needs Jupyter Notebook or JupyterLab (Debian: apt-get install -y jupyter-notebook; elsewhere: pip install notebook)');
  console.log('ready: `npm run notebooks` builds vidax and executes them headless, `npm run notebooks:open` opens them');
  return 0;
}

// ------------------------------------------------------------------ run

/**
 * Executes one notebook with nbconvert's ExecutePreprocessor (nbclient), records the cell being
 * run, writes the executed notebook (also after a failure, up to the failing cell) and prints
 * one JSON line: { ok, seconds, cells } or { ok: false, cell, cells, source, error }.
 */
const EXECUTE_PY = String.raw`
import json, os, sys, time
import nbformat
from nbconvert.preprocessors import ExecutePreprocessor

src, dst, timeout, kernel = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
nb = nbformat.read(src, as_version=4)
current = {'index': None}

def on_cell_execute(cell=None, cell_index=None, **_):
    current['index'] = cell_index

ep = ExecutePreprocessor(timeout=timeout, kernel_name=kernel, on_cell_execute=on_cell_execute)
started = time.time()
result = {'ok': True, 'cells': len(nb.cells)}
try:
    ep.preprocess(nb, {'metadata': {'path': os.path.dirname(os.path.abspath(src))}})
except BaseException as e:
    i = current['index']
    parts = []
    if i is not None:
        for out in nb.cells[i].get('outputs', []):
            if out.get('output_type') == 'stream' and out.get('name') == 'stderr':
                parts.append(out.get('text', ''))
            elif out.get('output_type') == 'error':
                tb = '\n'.join(out.get('traceback', []))
                parts.append(tb or '%s: %s' % (out.get('ename', ''), out.get('evalue', '')))
    if not parts or type(e).__name__ != 'CellExecutionError':
        parts.append('%s: %s' % (type(e).__name__, str(e).strip().splitlines()[0] if str(e).strip() else ''))
    result = {'ok': False, 'cells': len(nb.cells), 'cell': None if i is None else i + 1,
              'source': '' if i is None else nb.cells[i].source, 'error': '\n'.join(p.rstrip() for p in parts)}
finally:
    result['seconds'] = round(time.time() - started, 1)
    displays = {}
    for cell in nb.cells:
        for out in cell.get('outputs', []):
            if out.get('output_type') in ('display_data', 'execute_result'):
                for mime in out.get('data', {}):
                    displays[mime] = displays.get(mime, 0) + 1
    result['displays'] = displays
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    try:  # trusted, so Jupyter shows its SVG plots when the executed copy is opened
        from nbformat.sign import NotebookNotary
        NotebookNotary().sign(nb)
    except Exception:
        pass
    nbformat.write(nb, dst)
    print('@@notebook-result ' + json.dumps(result), flush=True)
`;

/** Strip ANSI colours and the kernel's own frames (vm, tslab) from a cell's error. */
const plain = (s) =>
  s
    .replace(/\x1b\[[0-9;]*m/g, '')
    .split('\n')
    .filter((l) => !/^\s+at .*(node:vm|sigintHandlersWrap|[\\/]tslab[\\/]dist[\\/]|node:internal)/.test(l))
    .join('\n');

/**
 * Execute one notebook. Resolves { ok, seconds, message } where message explains a failure
 * (the cell and its error) and log holds the raw nbconvert output.
 */
export function executeNotebook(file, { python, outputDir = defaultOutputDir, timeoutS } = {}) {
  const py = python ?? findPython();
  const perCell = Number(timeoutS ?? process.env.NOTEBOOK_TIMEOUT_S ?? 300);
  const dst = path.join(outputDir, path.basename(file));
  return new Promise((resolve) => {
    const child = spawn(py, ['-c', EXECUTE_PY, file, dst, String(perCell), kernelName], {
      cwd: path.dirname(file),
      env: jupyterEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    // The whole notebook gets twice the per-cell limit; then SIGINT lets nbclient shut the
    // kernel down and report the cell, and SIGKILL follows if that hangs.
    const timer = setTimeout(() => {
      log += `\n[notebook exceeded ${2 * perCell}s]`;
      child.kill('SIGINT');
      setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
    }, 2 * perCell * 1000);
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    child.on('error', (e) => (log += `\n${e.stack ?? e}`));
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = log.split('\n').find((l) => l.startsWith('@@notebook-result '));
      const name = rel(file);
      if (!line) return resolve({ ok: false, seconds: 0, message: `${name}: the notebook runner exited with code ${code} without a result\n${log}`, log });
      const r = JSON.parse(line.slice('@@notebook-result '.length));
      const shown = Object.entries(r.displays ?? {})
        .map(([mime, n]) => `${n} ${mime.replace(/^(image|text)\//, '').replace('+xml', '')}`)
        .join(', ');
      if (r.ok) return resolve({ ok: true, seconds: r.seconds, cells: r.cells, displays: shown, message: `${name}: ${r.cells} cells ran`, log, output: dst });
      const first = (r.source ?? '').split('\n').find((l) => l.trim()) ?? '';
      const where = r.cell ? `cell ${r.cell} of ${r.cells} (\`${first.trim().slice(0, 100)}\`)` : 'before any cell ran';
      const error = plain(r.error || 'no error message').trimEnd().replace(/^/gm, '    ');
      resolve({ ok: false, seconds: r.seconds, cell: r.cell, message: `${name}: ${where} failed:\n${error}\n  executed copy: ${rel(dst)}`, log, output: dst });
    });
  });
}

/**
 * Build the package into a fresh notebooks/.vidax-builds/<id>/ and point
 * notebooks/node_modules/vidax at it (an atomic symlink swap). Resolves { ok, log }.
 */
export function buildForNotebooks() {
  const id = `${Date.now().toString(36)}-${process.pid}`;
  const stage = path.join(buildsDir, id);
  mkdirSync(stage, { recursive: true });
  writeFileSync(path.join(stage, 'package.json'), readFileSync(path.join(root, 'package.json')));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'build.mjs'), '--outdir', path.join(stage, 'dist')], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    child.on('error', (e) => (log += `\n${e.stack ?? e}`));
    child.on('close', (code) => {
      if (code !== 0) {
        rmSync(stage, { recursive: true, force: true });
        return resolve({ ok: false, log });
      }
      mkdirSync(path.dirname(vidaxLink), { recursive: true });
      const tmpLink = `${vidaxLink}.${process.pid}.tmp`;
      rmSync(tmpLink, { force: true });
      symlinkSync(path.relative(path.dirname(vidaxLink), stage), tmpLink, 'dir');
      try {
        if (existsSync(vidaxLink) && !lstatSync(vidaxLink).isSymbolicLink()) rmSync(vidaxLink, { recursive: true });
      } catch {
        // a dangling or concurrent link: rename below replaces it
      }
      renameSync(tmpLink, vidaxLink);
      removeOldBuilds(id);
      resolve({ ok: true, log });
    });
  });
}

/** Remove builds older than an hour (a concurrent run may still use a recent one). */
function removeOldBuilds(keep) {
  let current = null;
  try {
    current = path.basename(readlinkSync(vidaxLink));
  } catch {
    // no link
  }
  for (const name of existsSync(buildsDir) ? readdirSync(buildsDir) : []) {
    if (name === keep || name === current) continue;
    const dir = path.join(buildsDir, name);
    try {
      if (Date.now() - statSync(dir).mtimeMs > 3600_000) rmSync(dir, { recursive: true, force: true });
    } catch {
      // removed concurrently
    }
  }
}

async function build() {
  const r = await buildForNotebooks();
  if (!r.ok) console.error(`notebooks: building vidax failed; the notebooks import the built package:\n${r.log}`);
  return r.ok ? 0 : 1;
}

async function runNotebooks(args) {
  const noBuild = args.includes('--no-build');
  const outIdx = args.indexOf('--output-dir');
  const outputDir = outIdx >= 0 ? path.resolve(args[outIdx + 1]) : defaultOutputDir;
  const files = args.filter((a, i) => !a.startsWith('--') && !(outIdx >= 0 && i === outIdx + 1)).map((f) => path.resolve(f));
  const notebooks = files.length ? files : listNotebooks();
  const missing = notebooksUnavailable();
  if (missing) {
    console.error(missing);
    console.log(`0 passed, ${notebooks.length} failed`);
    return 1;
  }
  if (!noBuild && (await build()) !== 0) return 1;
  const python = findPython();
  let passed = 0;
  let failed = 0;
  for (const nb of notebooks) {
    if (!existsSync(nb)) {
      console.log(`FAIL ${rel(nb)}: no such notebook`);
      failed++;
      continue;
    }
    const r = await executeNotebook(nb, { python, outputDir });
    if (r.ok) passed++;
    else failed++;
    console.log(r.ok ? `ok   ${rel(nb)}  (${r.seconds}s; shown inline: ${r.displays || 'nothing'})` : `FAIL ${r.message}`);
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

// ------------------------------------------------------------------ open

/** `jupyter notebook` or `jupyter lab`, whichever this Python has, or null. */
function findServer(py) {
  for (const [mod, sub] of [
    ['notebook', 'notebook'],
    ['jupyterlab', 'lab'],
  ]) {
    if (spawnSync(py, ['-c', `import ${mod}`], { stdio: 'ignore' }).status === 0) return sub;
  }
  return null;
}

async function open(args) {
  const missing = notebooksUnavailable();
  if (missing) {
    console.error(missing);
    return 1;
  }
  const py = findPython();
  const server = findServer(py);
  if (!server) {
    console.error('notebooks:open needs Jupyter Notebook or JupyterLab: `sudo apt-get install -y jupyter-notebook` (Debian/Ubuntu) or `python3 -m pip install notebook`.');
    return 1;
  }
  if ((await build()) !== 0) return 1;
  console.log(`starting jupyter ${server} on notebooks/ (kernel: TypeScript); after changing src/, run \`npm run notebooks:build\` and restart the kernel`);
  // Jupyter refuses to run as root unless told; containers and CI machines often are root.
  const root = process.getuid?.() === 0 && !args.includes('--allow-root') ? ['--allow-root'] : [];
  const child = spawn(py, ['-m', 'jupyter', server, `--notebook-dir=${notebooksDir}`, ...root, ...args], { env: jupyterEnv(), stdio: 'inherit' });
  // Stopping this script stops Jupyter (and so its kernels) too.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  return new Promise((resolve) => child.on('close', (code) => resolve(code ?? 0)));
}

// ------------------------------------------------------------------ strip

/** JSON with sorted keys and one-space indent, as nbformat writes notebooks. */
function nbJson(value) {
  const sort = (v) =>
    Array.isArray(v) ? v.map(sort) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort(v[k])])) : v;
  return `${JSON.stringify(sort(value), null, 1)}\n`;
}

/** The notebook without outputs, execution counts and run metadata. */
export function stripNotebook(nb) {
  const cells = nb.cells.map((cell) => {
    const metadata = { ...(cell.metadata ?? {}) };
    for (const k of ['execution', 'collapsed', 'scrolled', 'ExecuteTime']) delete metadata[k];
    const out = { ...cell, metadata };
    if (cell.cell_type === 'code') {
      out.outputs = [];
      out.execution_count = null;
    }
    return out;
  });
  const { kernelspec, language_info } = nb.metadata ?? {};
  const metadata = {
    ...(kernelspec ? { kernelspec } : {}),
    ...(language_info ? { language_info: { name: language_info.name, ...(language_info.file_extension ? { file_extension: language_info.file_extension } : {}) } } : {}),
  };
  return { ...nb, cells, metadata };
}

function strip(args) {
  const check = args.includes('--check');
  const files = args.filter((a) => !a.startsWith('--')).map((f) => path.resolve(f));
  const notebooks = files.length ? files : listNotebooks();
  let dirty = 0;
  for (const file of notebooks) {
    const text = readFileSync(file, 'utf8');
    const clean = nbJson(stripNotebook(JSON.parse(text)));
    if (clean === text) continue;
    dirty++;
    if (check) {
      console.log(`not clean: ${rel(file)} (run \`npm run notebooks:strip\`)`);
    } else {
      const tmp = `${file}.tmp`;
      writeFileSync(tmp, clean);
      renameSync(tmp, file);
      console.log(`stripped ${rel(file)}`);
    }
  }
  if (!dirty) console.log(`${notebooks.length} notebook(s) clean`);
  return check && dirty ? 1 : 0;
}

// ------------------------------------------------------------------ main

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const [command, ...args] = process.argv.slice(2);
  const commands = { setup: () => setup(), run: () => runNotebooks(args), open: () => open(args), build: () => build(), strip: () => strip(args) };
  if (!(command in commands)) {
    console.error('usage: node scripts/notebooks.mjs setup | run [--no-build] [--output-dir DIR] [nb.ipynb...] | open [jupyter args] | build | strip [--check] [nb.ipynb...]');
    process.exitCode = 2;
  } else {
    process.exitCode = await commands[command]();
  }
}
