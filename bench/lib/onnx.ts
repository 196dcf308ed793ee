/**
 * A minimal ONNX model writer (protobuf wire format, only the fields the benchmark graphs
 * need), so that onnxruntime-node can run the workloads without Python or a model file.
 *
 *   const bytes = onnxModel({ inputs: [['x', [4, 4]]], outputs: [['y', [4, 4]]],
 *                             nodes: [{ op: 'Tanh', inputs: ['x'], outputs: ['y'] }] });
 *   const session = await InferenceSession.create(bytes);
 *
 * Field numbers are those of onnx/onnx.proto (ModelProto, GraphProto, NodeProto,
 * AttributeProto, ValueInfoProto, TypeProto, TensorShapeProto, OperatorSetIdProto).
 */

/** A node attribute: an integer, a float, or a list of integers. */
export type Attr = { ints: readonly number[] } | { int: number } | { float: number };

export interface OnnxNode {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attrs?: Record<string, Attr>;
}

export interface OnnxGraph {
  /** float32 graph inputs and outputs with static shapes. */
  inputs: readonly (readonly [string, readonly number[]])[];
  outputs: readonly (readonly [string, readonly number[]])[];
  nodes: readonly OnnxNode[];
  /** Default opset 17 (Softmax over one axis, Conv, MatMul, ...). */
  opset?: number;
}

const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_INTS = 7; // AttributeProto.AttributeType

class Writer {
  private bytes: number[] = [];

  private varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x !== 0n) b |= 0x80;
      this.bytes.push(b);
    } while (x !== 0n);
  }
  private key(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }
  int(field: number, v: number): this {
    this.key(field, 0);
    this.varint(v);
    return this;
  }
  float(field: number, v: number): this {
    this.key(field, 5);
    const b = new Uint8Array(new Float32Array([v]).buffer);
    this.bytes.push(...b);
    return this;
  }
  bytesField(field: number, data: Uint8Array): this {
    this.key(field, 2);
    this.varint(data.length);
    for (const b of data) this.bytes.push(b);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytesField(field, new TextEncoder().encode(s));
  }
  message(field: number, build: (w: Writer) => void): this {
    const w = new Writer();
    build(w);
    return this.bytesField(field, w.finish());
  }
  finish(): Uint8Array {
    return new Uint8Array(this.bytes);
  }
}

function valueInfo(w: Writer, field: number, name: string, shape: readonly number[]): void {
  w.message(field, (vi) => {
    vi.string(1, name);
    vi.message(2, (type) =>
      type.message(1, (tensor) => {
        tensor.int(1, FLOAT);
        tensor.message(2, (sh) => {
          for (const d of shape) sh.message(1, (dim) => dim.int(1, d));
        });
      }),
    );
  });
}

/** Serialize a single-graph ONNX model (IR version 8) to bytes. */
export function onnxModel(g: OnnxGraph): Uint8Array {
  const w = new Writer();
  w.int(1, 8); // ir_version
  w.string(2, 'vidax-bench'); // producer_name
  w.message(7, (graph) => {
    g.nodes.forEach((n, i) =>
      graph.message(1, (node) => {
        for (const x of n.inputs) node.string(1, x);
        for (const y of n.outputs) node.string(2, y);
        node.string(3, `${n.op.toLowerCase()}_${i}`);
        node.string(4, n.op);
        for (const [name, a] of Object.entries(n.attrs ?? {}))
          node.message(5, (attr) => {
            attr.string(1, name);
            if ('ints' in a) {
              for (const v of a.ints) attr.int(8, v);
              attr.int(20, ATTR_INTS);
            } else if ('int' in a) {
              attr.int(3, a.int);
              attr.int(20, ATTR_INT);
            } else {
              attr.float(2, a.float);
              attr.int(20, ATTR_FLOAT);
            }
          });
      }),
    );
    graph.string(2, 'bench');
    for (const [name, shape] of g.inputs) valueInfo(graph, 11, name, shape);
    for (const [name, shape] of g.outputs) valueInfo(graph, 12, name, shape);
  });
  w.message(8, (opset) => {
    opset.string(1, '');
    opset.int(2, g.opset ?? 17);
  });
  return w.finish();
}
