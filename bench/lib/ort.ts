/**
 * onnxruntime-node (native, CPU execution provider): each workload is a one- or few-node
 * ONNX graph written by `onnx.ts`, with every operand a graph input (no initializers, so no
 * weight prepacking outside the timed region). The thread count is the session's
 * `intraOpNumThreads`. ONNX Runtime has no autodiff, so the MLP gradient is not run.
 */
import { createRequire } from 'node:module';
import ort from 'onnxruntime-node';
import type { Contender, LibraryInfo, Prepared } from './contender.js';
import { onnxModel, type OnnxGraph } from './onnx.js';
import type { Instance } from './workloads.js';

export function loadOrt(): LibraryInfo {
  const version = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
  return { name: 'onnxruntime-node', version, notes: ['CPU execution provider (native MLAS kernels), intraOpNumThreads = threads', 'no autodiff: the MLP gradient is not available'] };
}

type Feeds = Record<string, ort.Tensor>;

async function prepare(inst: Instance, threads: number): Promise<Prepared | { unsupported: string }> {
  let graph: OnnxGraph;
  let feeds: Feeds;
  const t = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);
  switch (inst.kind) {
    case 'matmul':
      graph = { inputs: [['a', [inst.m, inst.k]], ['b', [inst.k, inst.n]]], outputs: [['y', [inst.m, inst.n]]], nodes: [{ op: 'MatMul', inputs: ['a', 'b'], outputs: ['y'] }] };
      feeds = { a: t(inst.a, [inst.m, inst.k]), b: t(inst.b, [inst.k, inst.n]) };
      break;
    case 'conv': {
      const { n, c, h, w, o, kh, kw } = inst;
      const [ph, pw] = [(kh - 1) / 2, (kw - 1) / 2];
      graph = {
        inputs: [['x', [n, c, h, w]], ['w', [o, c, kh, kw]]],
        outputs: [['y', [n, o, h, w]]],
        nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs: { kernel_shape: { ints: [kh, kw] }, pads: { ints: [ph, pw, ph, pw] }, strides: { ints: [1, 1] } } }],
      };
      feeds = { x: t(inst.x, [n, c, h, w]), w: t(inst.filter, [o, c, kh, kw]) };
      break;
    }
    case 'chain':
      graph = {
        inputs: [['x', [inst.size]]],
        outputs: [['y', [inst.size]]],
        nodes: [
          { op: 'Tanh', inputs: ['x'], outputs: ['t'] },
          { op: 'Sigmoid', inputs: ['x'], outputs: ['s'] },
          { op: 'Mul', inputs: ['t', 's'], outputs: ['y'] },
        ],
      };
      feeds = { x: t(inst.x, [inst.size]) };
      break;
    case 'softmax':
      graph = { inputs: [['x', [inst.rows, inst.cols]]], outputs: [['y', [inst.rows, inst.cols]]], nodes: [{ op: 'Softmax', inputs: ['x'], outputs: ['y'], attrs: { axis: { int: -1 } } }] };
      feeds = { x: t(inst.x, [inst.rows, inst.cols]) };
      break;
    case 'mlp':
      return { unsupported: 'no autodiff' };
  }
  const session = await ort.InferenceSession.create(onnxModel(graph), {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  return {
    async run() {
      const r = await session.run(feeds);
      return [r.y.data as Float32Array];
    },
    dispose() {
      void session.release();
    },
  };
}

export function ortContenders(threads: number): Contender[] {
  return [{ id: 'ort-cpu', label: 'onnxruntime-node', isVidax: false, threads, prepare: (inst) => prepare(inst, threads) }];
}
