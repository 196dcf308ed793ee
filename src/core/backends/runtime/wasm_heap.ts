/**
 * The wasm backend's memory: one `WebAssembly.Memory` that every kernel module imports,
 * and a size-class allocator over it.
 *
 * The memory is shared (`shared: true` with a maximum) where SharedArrayBuffer exists, so
 * that worker threads can later run kernels on the same buffers; otherwise it is an ordinary
 * growable memory. Typed-array views are made per access from the current `memory.buffer`,
 * since growing replaces (shared) or detaches (non-shared) the previous one.
 *
 * Allocation: a request is rounded up to its size class (16-byte multiples up to 256 bytes,
 * then four classes per power of two, so at most 25% is wasted) and served from that class's
 * free list, or else bumped off the top of the heap, growing the memory (at least doubling
 * it) when needed. Every block is 16-byte aligned (v128 loads). Freed blocks go back to their
 * list; a block at the top lowers the top instead, and the heap resets when nothing is live.
 */
import { ValueError } from '../../errors.js';
import { sizeClass } from '../size_class.js';
import type { MemoryLimits } from '../wasm/encoder.js';

const PAGE = 65536;
/** Addresses below this are never handed out (0 stays an invalid address). */
const HEAP_START = 1024;
const INITIAL_PAGES = 16;

export interface HeapStats {
  /** Size of the memory. */
  readonly memoryBytes: number;
  /** End of the allocated region. */
  readonly top: number;
  /** Bytes on the free lists. */
  readonly freeBytes: number;
  readonly shared: boolean;
}

export class WasmHeap {
  readonly memory: WebAssembly.Memory;
  readonly limits: MemoryLimits;
  private top = HEAP_START;
  private freeLists = new Map<number, number[]>();
  private freeBytes = 0;
  private live = 0;

  constructor() {
    const made = createMemory();
    this.memory = made.memory;
    this.limits = made.limits;
  }

  get shared(): boolean {
    return this.limits.shared === true;
  }
  get buffer(): ArrayBufferLike {
    return this.memory.buffer;
  }

  /** A block of at least `bytes`; returns its address and capacity (its size class). */
  alloc(bytes: number): { ptr: number; cap: number } {
    const cap = sizeClass(bytes);
    this.live++;
    const list = this.freeLists.get(cap);
    if (list?.length) {
      this.freeBytes -= cap;
      return { ptr: list.pop()!, cap };
    }
    const ptr = this.top;
    this.ensure(ptr + cap);
    this.top = ptr + cap;
    return { ptr, cap };
  }

  free(ptr: number, cap: number): void {
    this.live--;
    if (this.live === 0) {
      this.top = HEAP_START;
      this.freeLists.clear();
      this.freeBytes = 0;
    } else if (ptr + cap === this.top) {
      this.top = ptr;
    } else {
      const list = this.freeLists.get(cap);
      if (list) list.push(ptr);
      else this.freeLists.set(cap, [ptr]);
      this.freeBytes += cap;
    }
  }

  /** Grow the memory so that addresses below `end` are valid. */
  ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const pages = have / PAGE;
    const need = Math.ceil(end / PAGE) - pages;
    const max = this.limits.maximum ?? 65536;
    for (const delta of [Math.max(need, pages), need]) {
      if (pages + delta > max) continue;
      try {
        this.memory.grow(delta);
        return;
      } catch {
        // try the smaller request
      }
    }
    throw new ValueError(`wasm backend: out of memory: need ${end} bytes, memory is ${have} of at most ${max * PAGE} bytes`);
  }

  stats(): HeapStats {
    return { memoryBytes: this.memory.buffer.byteLength, top: this.top, freeBytes: this.freeBytes, shared: this.shared };
  }
}

/** A shared memory if the platform allows (with the largest maximum it accepts), else a plain one. */
function createMemory(): { memory: WebAssembly.Memory; limits: MemoryLimits } {
  const candidates: MemoryLimits[] = [];
  if (typeof SharedArrayBuffer !== 'undefined') for (const maximum of [65536, 16384, 4096]) candidates.push({ initial: INITIAL_PAGES, maximum, shared: true });
  candidates.push({ initial: INITIAL_PAGES, maximum: 65536 }, { initial: INITIAL_PAGES });
  let last: unknown;
  for (const limits of candidates) {
    try {
      return { memory: new WebAssembly.Memory(limits), limits };
    } catch (e) {
      last = e;
    }
  }
  throw new ValueError(`wasm backend: cannot create a WebAssembly.Memory: ${(last as Error)?.message ?? last}`);
}
