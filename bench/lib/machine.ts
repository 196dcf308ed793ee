/**
 * A description of the machine for the results file, without the host name: CPU model,
 * family/model, vector extensions, cores, memory, OS and Node; and a short label for the
 * file name built from the same facts (e.g. `amd-epyc-2c-avx512`).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface Machine {
  cpu: string;
  cpuDetail: string;
  isa: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  v8: string;
  label: string;
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export function describeMachine(): Machine {
  const cpuinfo = read('/proc/cpuinfo');
  const field = (name: string): string => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(cpuinfo)?.[1]?.trim() ?? '';
  const cpu = field('model name') || os.cpus()[0]?.model?.trim() || os.arch();
  const flags = new Set(field('flags').split(/\s+/));
  const isa = flags.has('avx512f') ? 'avx512' : flags.has('avx2') ? 'avx2' : flags.has('avx') ? 'avx' : flags.has('asimd') ? 'neon' : os.arch();
  const ext = ['sse4_2', 'avx', 'avx2', 'fma', 'avx512f', 'avx512_bf16', 'avx_vnni', 'asimd'].filter((f) => flags.has(f));
  const detail = [field('vendor_id'), field('cpu family') && `family ${field('cpu family')}`, field('model') && `model ${field('model')}`, field('stepping') && `stepping ${field('stepping')}`]
    .filter(Boolean)
    .join(', ');
  const mhz = field('cpu MHz');
  const cores = os.availableParallelism();
  const osName = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(read('/etc/os-release'))?.[1] ?? `${os.type()} ${os.release()}`;
  const slug = cpu
    .toLowerCase()
    .replace(/\(r\)|\(tm\)|cpu|processor|\d+-core|@.*$/g, ' ')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return {
    cpu,
    cpuDetail: [detail, mhz && `${Math.round(Number(mhz))} MHz`, ext.length ? ext.join(' ') : ''].filter(Boolean).join('; '),
    isa,
    cores,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${osName} (${os.arch()})`,
    node: process.version,
    v8: process.versions.v8,
    label: `${slug || 'cpu'}-${cores}c-${isa}`,
  };
}

/** The vidax commit (short hash, `+modified` with uncommitted changes), or '' outside git. */
export function vidaxCommit(cwd: string): string {
  try {
    const hash = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${hash}+modified` : hash;
  } catch {
    return '';
  }
}
