/**
 * `npm run demo`: a tour of the vidax tensor core on the default CPU backend (WebAssembly;
 * `VIDAX_BACKEND=cpu npm run demo` runs it on the JavaScript oracle).
 *
 * A synthetic 32×32 image is noised with the continuous cosine schedule of Imagen Video
 * (α² = sigmoid(λ), σ² = sigmoid(−λ), λ(t) = −2 log tan(πt/2)) using threefry noise, then
 * "denoised" by a Gaussian blur (a 2-D convolution) and by the ideal Wiener shrinkage
 * x̂ = z/α · SNR/(1+SNR); the PSNR of each estimate is reported per noise level. It
 * exercises keys and samplers, broadcasting, convolution, reductions and quantiles.
 */
import { defaultBackend, lax, memoryStats, np, random, scope, type Array } from '../src/index.js';

const N = 32;

/** A smooth test image in [-1, 1]: a ring plus a diagonal gradient. */
function testImage(): Array {
  const c = np.linspace(-1, 1, N);
  const yy = c.reshape([N, 1]), xx = c.reshape([1, N]);
  const r = np.sqrt(yy.square().add(xx.square()));
  const ring = np.exp(r.sub(0.55).square().mul(-40));
  return ring.mul(1.6).add(xx.add(yy).mul(0.25)).sub(0.6).clip(-1, 1);
}

/** A normalised 2-D Gaussian kernel of shape (1, 1, k, k). */
function gaussianKernel(k: number, sigma: number): Array {
  const t = np.arange(k).astype('float32').sub((k - 1) / 2);
  const g = np.exp(t.square().div(-2 * sigma * sigma));
  const g2 = g.reshape([k, 1]).mul(g.reshape([1, k]));
  return g2.div(g2.sum()).reshape([1, 1, k, k]);
}

const psnr = (a: Array, b: Array): number => {
  const mse = a.sub(b).square().mean().item() as number;
  return 10 * Math.log10(4 / mse); // peak-to-peak range 2
};

// Temporaries made inside `scope` are freed when it returns; only what it returns stays live.
const { x, blur } = scope(() => ({ x: testImage(), blur: gaussianKernel(5, 1.2) }));
let key = random.key(2022);

console.log('vidax demo: cosine-schedule noising and simple denoisers on a 32×32 image\n');
console.log('   t     logSNR λ   α      σ      PSNR(z/α)  PSNR(blur)  PSNR(Wiener)  noise q05/q95');
for (const t of [0.1, 0.3, 0.5, 0.7, 0.9]) {
  const prev = key;
  key = scope(() => {
    const [next, sub] = random.split(prev);
    const lambda = -2 * Math.log(Math.tan((Math.PI * t) / 2));
    const alpha = Math.sqrt(1 / (1 + Math.exp(-lambda)));
    const sigma = Math.sqrt(1 / (1 + Math.exp(lambda)));
    const eps = random.normal(sub, [N, N]);
    const z = x.mul(alpha).add(eps.mul(sigma));
    const naive = z.div(alpha);
    const blurred = lax.convGeneralDilated(naive.reshape([1, 1, N, N]), blur, [1, 1], 'SAME').reshape([N, N]);
    const snr = Math.exp(lambda);
    const wiener = naive.mul(snr / (1 + snr));
    const [q05, q95] = np.quantile(eps, [0.05, 0.95]).toNested() as number[];
    console.log(
      `  ${t.toFixed(1)}  ${lambda.toFixed(3).padStart(8)}  ${alpha.toFixed(3)}  ${sigma.toFixed(3)}  ` +
        `${psnr(naive, x).toFixed(2).padStart(9)}  ${psnr(blurred, x).toFixed(2).padStart(10)}  ${psnr(wiener, x).toFixed(2).padStart(12)}` +
        `  ${q05.toFixed(2)}/${q95.toFixed(2)}`,
    );
    return next; // the only value that outlives this step
  });
  prev.dispose();
}

const shades = ' .:-=+*#%@';
console.log('\nthe image (x) and its noised version at t = 0.5:');
const rows = (a: Array) =>
  (a.slice('::2', '::1').clip(-1, 1).add(1).mul(4.99).floor().astype('int32').toNested() as number[][]).map((r) => r.map((v) => shades[v]).join(''));
scope(() => {
  const zHalf = x.mul(Math.SQRT1_2).add(random.normal(random.key(7), [N, N]).mul(Math.SQRT1_2));
  const [ra, rb] = [rows(x), rows(zHalf)];
  ra.forEach((r, i) => console.log(`  ${r}   ${rb[i]}`));
});
console.log(`\nbackend: ${defaultBackend()}; live buffers: ${memoryStats()[defaultBackend()]?.buffers} (the image, the blur kernel and the key)`);
