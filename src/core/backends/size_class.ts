/**
 * The size classes both device allocators use (the wasm heap, the WebGPU buffer pool): 16-byte
 * multiples up to 256 bytes, then four classes per power of two, so at most 25% is wasted.
 */
export function sizeClass(bytes: number): number {
  const n = Math.max(16, Math.ceil(bytes / 16) * 16);
  if (n <= 256) return n;
  const step = 2 ** (Math.floor(Math.log2(n - 1)) - 2);
  return Math.ceil(n / step) * step;
}
