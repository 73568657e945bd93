//! CPU kernels of the fused LSTM stack: the forward pass over every layer and time step, and
//! hand-written backpropagation through time (BPTT).
//!
//! Everything works on plain `f32` slices in PyTorch's layout (gates i, f, g, o; `weight_ih [4H, I]`,
//! `weight_hh [4H, H]`, two biases per layer). Sequences are time-major (`[T, B, features]`).
//!
//! How the time goes, and what was done about it:
//! - matrix products go through the `gemm` crate (the same GEMM Burn's flex backend uses, with
//!   run-time AVX2/AVX-512 selection): per layer one product projects the inputs of all time steps
//!   and one product per step adds the recurrent part, accumulating in place (no temporaries);
//! - the gate math is one fused pass per step over `[B, 4H]` with branch-free, vectorisable
//!   `exp`-based sigmoid and tanh (relative error about 1e-7);
//! - the batch is cut into a fixed number of chunks (a function of the batch size only, so results
//!   do not depend on the number of threads) that run on the calling thread and the spinning
//!   workers of `spin_pool` (rayon when those are busy): the recurrence of one sequence
//!   never depends on another, and each chunk's weight gradients are summed in chunk order;
//! - nothing is allocated per time step; the forward pass keeps a [`Tape`] (gate activations, cell
//!   states, `tanh(c)`, hidden states) that the backward pass reads instead of recomputing;
//! - inference (no tape, no dropout masks) runs every layer one step at a time (a wavefront), so a
//!   batch chunk needs only the current states, kept in per-thread scratch reused across calls
//!   (no allocation, no page faults once warm); on x86-64 with AVX2 + FMA or AVX-512 and a hidden
//!   size that is a multiple of the vector width, each step is one fused SIMD pass over weights
//!   packed by gate group (gate products and cell update in registers, `kernel_avx2`),
//!   elsewhere GEMMs per step followed by the cell update.

#![allow(unsafe_code)] // one `unsafe` call, `gemm::gemm`, behind the bounds checks of `matmul`.

mod backward;
mod forward;
mod infer;

pub use backward::backward;
use forward::*;
pub use forward::{Tape, forward};
use infer::*;

/// The sizes of one call of the fused stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackShape {
    /// Time steps `T`.
    pub steps: usize,
    /// Sequences `B`.
    pub batch: usize,
    /// Input features `I` of the bottom layer.
    pub input: usize,
    /// Hidden size `H` of every layer.
    pub hidden: usize,
    /// Stacked layers `L`.
    pub layers: usize,
}

impl StackShape {
    /// Input size of layer `l`.
    pub fn layer_input(&self, l: usize) -> usize {
        if l == 0 { self.input } else { self.hidden }
    }

    /// Number of parameters of layer `l`: `weight_ih`, `weight_hh`, `bias_ih`, `bias_hh`.
    pub fn layer_params(&self, l: usize) -> usize {
        let g = 4 * self.hidden;
        g * self.layer_input(l) + g * self.hidden + 2 * g
    }

    /// Offset of layer `l` in the packed parameter vector.
    pub fn param_offset(&self, l: usize) -> usize {
        (0..l).map(|k| self.layer_params(k)).sum()
    }

    /// Length of the packed parameter vector (every layer, in order).
    pub fn param_len(&self) -> usize {
        self.param_offset(self.layers)
    }

    /// Length of the dropout-mask vector: one `[T, B, H]` mask per layer but the top one.
    pub fn mask_len(&self) -> usize {
        self.layers.saturating_sub(1) * self.steps * self.batch * self.hidden
    }

    /// The batch chunks `(start, len)` of a training pass: a function of the batch size only, so
    /// that the order in which chunk gradients are summed never depends on the thread count.
    fn chunks(&self) -> Vec<(usize, usize)> {
        self.split((self.batch / 16).clamp(1, 8))
    }

    /// The batch chunks of an inference pass: as few as there are threads to run them (larger
    /// matrix products), at least 16 sequences each. Every sequence's output is computed on its own,
    /// so the chunking does not change the numbers (a test checks it).
    fn inference_chunks(&self) -> Vec<(usize, usize)> {
        let threads = rayon::current_num_threads().max(1);
        self.split((self.batch / 16).clamp(1, threads))
    }

    fn split(&self, n: usize) -> Vec<(usize, usize)> {
        let b = self.batch;
        let base = b / n;
        let extra = b % n;
        let mut out = Vec::with_capacity(n);
        let mut start = 0;
        for c in 0..n {
            let len = base + usize::from(c < extra);
            out.push((start, len));
            start += len;
        }
        out
    }
}

/// A float buffer whose first element is 64-byte aligned: the SIMD loops read it a cache line
/// (a 512-bit vector) at a time, and a misaligned start made every load straddle two lines (a
/// process's allocation luck showed as a 1.8× spread in batch-256 throughput between runs).
#[derive(Debug, Clone)]
pub(crate) struct Aligned {
    buf: Vec<f32>,
    off: usize,
    len: usize,
}

impl Aligned {
    /// `len` zeros.
    pub(crate) fn zeroed(len: usize) -> Self {
        let buf = vec![0.0f32; len + 15];
        let off = buf.as_ptr().align_offset(64).min(15);
        Self { buf, off, len }
    }

    /// The values.
    pub(crate) fn as_slice(&self) -> &[f32] {
        &self.buf[self.off..self.off + self.len]
    }

    /// The values, writable.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.buf[self.off..self.off + self.len]
    }

    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub(crate) fn as_ptr(&self) -> *const f32 {
        self.as_slice().as_ptr()
    }
}

/// One layer's parameters, borrowed from the packed vector.
#[derive(Clone, Copy)]
struct LayerParams<'a> {
    w_ih: &'a [f32],
    w_hh: &'a [f32],
    b_ih: &'a [f32],
    b_hh: &'a [f32],
}

fn layer_params<'a>(sh: &StackShape, params: &'a [f32], l: usize) -> LayerParams<'a> {
    let g = 4 * sh.hidden;
    let i = sh.layer_input(l);
    let p = &params[sh.param_offset(l)..sh.param_offset(l + 1)];
    let (w_ih, rest) = p.split_at(g * i);
    let (w_hh, rest) = rest.split_at(g * sh.hidden);
    let (b_ih, b_hh) = rest.split_at(g);
    LayerParams {
        w_ih,
        w_hh,
        b_ih,
        b_hh,
    }
}

/// A strided read-only matrix view: element `(r, c)` is `data[r * rs + c * cs]`.
#[derive(Clone, Copy)]
struct View<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl<'a> View<'a> {
    /// A row-major matrix.
    fn rm(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    /// The transpose of a row-major `[cols, rows]` matrix.
    fn tr(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            rs: 1,
            cs: rows,
        }
    }
}

/// `dst[m × n]` (row stride `ldd`) `= a · b`, or `+= a · b` with `accumulate`.
///
/// # Panics
/// If the shapes disagree or a view reaches past its slice.
fn matmul(dst: &mut [f32], ldd: usize, accumulate: bool, a: View<'_>, b: View<'_>) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "matmul: inner dimensions differ");
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        n <= ldd && (m - 1) * ldd + n <= dst.len(),
        "matmul: dst too small"
    );
    if k == 0 {
        if !accumulate {
            for r in 0..m {
                dst[r * ldd..r * ldd + n].fill(0.0);
            }
        }
        return;
    }
    assert!(
        (a.rows - 1) * a.rs + (a.cols - 1) * a.cs < a.data.len(),
        "matmul: lhs out of bounds"
    );
    assert!(
        (b.rows - 1) * b.rs + (b.cols - 1) * b.cs < b.data.len(),
        "matmul: rhs out of bounds"
    );
    // SAFETY: every index gemm touches is inside its slice (checked above for non-negative
    // strides); `dst` is a unique borrow, so it cannot alias `a` or `b`; the element type is f32.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            ldd as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            1.0f32,
            1.0f32,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// `out (+)= a · w` for row-major `a [rows, k_n]` and `w [k_n, n]` into `out [rows, n]`: the
/// register-tiled SIMD product of [`crate::kernel_avx2::rows_times`] where the CPU and `n` allow it
/// (no packing of `w`, which the recurrent products of every time step would otherwise repeat),
/// else [`matmul`].
fn rows_times(a: &[f32], rows: usize, k_n: usize, w: &[f32], n: usize, out: &mut [f32], acc: bool) {
    #[cfg(target_arch = "x86_64")]
    if let Some(isa) = crate::kernel_avx2::Isa::for_width(n) {
        crate::kernel_avx2::rows_times(isa, a, rows, k_n, w, n, out, acc);
        return;
    }
    matmul(out, n, acc, View::rm(a, rows, k_n), View::rm(w, k_n, n));
}

/// `a · b + c`, fused when the caller is compiled with FMA (`F`), else two plain operations (a
/// non-FMA `mul_add` would be a slow library call).
#[inline(always)]
fn madd<const F: bool>(a: f32, b: f32, c: f32) -> f32 {
    if F { a.mul_add(b, c) } else { a * b + c }
}

/// `exp(x)` for f32, branch-free so that loops over slices vectorise (Cephes' polynomial, relative
/// error about 1e-7; inputs clamped so that results and their reciprocals stay normal numbers).
#[inline(always)]
fn fast_exp<const F: bool>(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const MAGIC: f32 = 12_582_912.0; // 1.5 × 2^23: adding it rounds to an integer
    let x = x.clamp(-87.3, 87.3);
    let t = madd::<F>(x, LOG2E, MAGIC);
    let n = t - MAGIC;
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = madd::<F>(p, r, 1.398_199_9e-3);
    p = madd::<F>(p, r, 8.333_452e-3);
    p = madd::<F>(p, r, 4.166_579_6e-2);
    p = madd::<F>(p, r, 1.666_666_5e-1);
    p = madd::<F>(p, r, 0.5); // Cephes: 5.0000001201e-1, which is 0.5 in f32
    let e = madd::<F>(p * r, r, r) + 1.0;
    let k = (t.to_bits() as i32).wrapping_sub(0x4B40_0000);
    e * f32::from_bits((k.wrapping_add(127) as u32) << 23)
}

#[inline(always)]
fn sigmoid_f<const F: bool>(x: f32) -> f32 {
    1.0 / (1.0 + fast_exp::<F>(-x))
}

#[inline(always)]
fn tanh_f<const F: bool>(x: f32) -> f32 {
    1.0 - 2.0 / (fast_exp::<F>(2.0 * x) + 1.0)
}

/// Logistic sigmoid (the kernel's approximation, absolute error below 2e-7).
pub fn sigmoid(x: f32) -> f32 {
    sigmoid_f::<false>(x)
}

/// Hyperbolic tangent (the kernel's approximation, absolute error below 3e-7).
pub fn tanh(x: f32) -> f32 {
    tanh_f::<false>(x)
}

/// Whether this CPU runs the AVX2 + FMA versions of the element-wise loops (checked once).
fn avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *HAS.get_or_init(|| {
            std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn check(sh: &StackShape, x: &[f32], params: &[f32], masks: Option<&[f32]>) {
    assert_eq!(
        x.len(),
        sh.steps * sh.batch * sh.input,
        "lstm_stack: x length"
    );
    assert_eq!(params.len(), sh.param_len(), "lstm_stack: parameter length");
    if let Some(m) = masks {
        assert_eq!(m.len(), sh.mask_len(), "lstm_stack: mask length");
    }
    assert!(
        sh.layers >= 1 && sh.hidden >= 1 && sh.steps >= 1,
        "lstm_stack: empty stack"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_exp_matches_std() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x < 87.0 {
            let e = fast_exp::<false>(x) as f64;
            let r = (x as f64).exp();
            worst = worst.max(((e - r) / r).abs());
            x += 0.0137;
        }
        assert!(worst < 3e-7, "relative error {worst}");
        for v in [-1e6f32, -200.0, 200.0, 1e6] {
            assert!(fast_exp::<false>(v).is_finite());
        }
    }

    #[test]
    fn sigmoid_and_tanh_match_std() {
        let mut x = -30.0f32;
        while x < 30.0 {
            let s = 1.0 / (1.0 + (-(x as f64)).exp());
            assert!((sigmoid(x) as f64 - s).abs() < 2e-7, "sigmoid({x})");
            assert!(
                (tanh(x) as f64 - (x as f64).tanh()).abs() < 3e-7,
                "tanh({x})"
            );
            x += 0.01;
        }
        assert_eq!(tanh(1e9), 1.0);
        assert_eq!(tanh(-1e9), -1.0);
        assert!(
            sigmoid(-1e9) >= f32::MIN_POSITIVE && sigmoid(-1e9) < 2e-38,
            "no denormals"
        );
    }

    /// A random stack: its shape, inputs `[T, B, I]` and parameters.
    fn random_stack(
        steps: usize,
        batch: usize,
        input: usize,
        hidden: usize,
        layers: usize,
        seed: u32,
    ) -> (StackShape, Vec<f32>, Vec<f32>) {
        let sh = StackShape {
            steps,
            batch,
            input,
            hidden,
            layers,
        };
        let mut seed = seed;
        let mut next = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        let x: Vec<f32> = (0..steps * batch * input).map(|_| next() * 4.0).collect();
        let p: Vec<f32> = (0..sh.param_len()).map(|_| next()).collect();
        (sh, x, p)
    }

    /// Every inference path this CPU can run for `sh`.
    fn paths(sh: &StackShape) -> Vec<InferPath> {
        #[allow(unused_mut)]
        let mut out = vec![InferPath::Gemm];
        #[cfg(target_arch = "x86_64")]
        for isa in crate::kernel_avx2::Isa::available() {
            if sh.hidden.is_multiple_of(isa.units()) {
                out.push(InferPath::Packed(isa));
            }
        }
        out
    }

    fn run_infer(sh: &StackShape, x: &[f32], p: &[f32], path: InferPath) -> Vec<f32> {
        let mut out = vec![0.0f32; sh.steps * sh.batch * sh.hidden];
        infer(sh, x, p, &mut out, path, true);
        out
    }

    #[test]
    fn every_inference_path_matches_the_taped_forward() {
        // The training forward (per-layer GEMMs, chunks fixed by the batch size) against every
        // inference path, on hidden sizes that are and are not multiples of 8 and 16, batches
        // below and above the packing threshold and with tile remainders.
        let mut covered_packed = 0;
        for (i, &(batch, steps, input, hidden, layers)) in [
            (203, 5, 3, 24, 2),
            (64, 12, 5, 64, 2),
            (33, 2, 1, 7, 3),
            (1, 12, 3, 64, 2),
            (9, 4, 2, 16, 1),
            (37, 6, 70, 32, 3),
            (8, 1, 4, 8, 2),
        ]
        .iter()
        .enumerate()
        {
            let (sh, x, p) = random_stack(steps, batch, input, hidden, layers, 7 + i as u32);
            let (taped, _) = forward(sh, &x, &p, None, true, true);
            for path in paths(&sh) {
                let got = run_infer(&sh, &x, &p, path);
                let worst = got
                    .iter()
                    .zip(&taped)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0f32, f32::max);
                assert!(worst < 1e-5, "{path:?} {sh:?}: max difference {worst}");
                covered_packed += usize::from(path != InferPath::Gemm);
            }
        }
        #[cfg(target_arch = "x86_64")]
        if crate::kernel_avx2::Isa::detect().is_some() {
            assert!(covered_packed > 0, "no packed path was tested");
        }
    }

    #[test]
    fn the_simd_row_products_equal_a_plain_sum() {
        #[cfg(target_arch = "x86_64")]
        for isa in crate::kernel_avx2::Isa::available() {
            for (rows, k_n, n) in [
                (1usize, 1usize, 8usize),
                (5, 3, 16),
                (16, 256, 64),
                (9, 64, 256),
                (7, 70, 24),
            ] {
                if !n.is_multiple_of(isa.units()) {
                    continue;
                }
                let (_, a, w) = random_stack(1, 1, 1, 1, 1, (rows * k_n * n) as u32);
                let a: Vec<f32> = a.iter().cycle().take(rows * k_n).copied().collect();
                let w: Vec<f32> = w
                    .iter()
                    .cycle()
                    .take(k_n * n)
                    .enumerate()
                    .map(|(i, v)| v + i as f32 * 1e-3)
                    .collect();
                for accumulate in [false, true] {
                    let start: Vec<f32> = (0..rows * n).map(|i| (i % 7) as f32 - 3.0).collect();
                    let mut out = start.clone();
                    crate::kernel_avx2::rows_times(isa, &a, rows, k_n, &w, n, &mut out, accumulate);
                    for r in 0..rows {
                        for c in 0..n {
                            let mut want = if accumulate {
                                start[r * n + c] as f64
                            } else {
                                0.0
                            };
                            for k in 0..k_n {
                                want += a[r * k_n + k] as f64 * w[k * n + c] as f64;
                            }
                            let got = out[r * n + c] as f64;
                            assert!(
                                (got - want).abs() <= 1e-5 * (1.0 + want.abs()),
                                "{isa:?} {rows}x{k_n}x{n} acc {accumulate} [{r},{c}]: {got} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_pack_cache_never_serves_other_weights() {
        let (sh, x, p) = random_stack(12, 9, 3, 64, 2, 3);
        for path in paths(&sh).into_iter().filter(|p| *p != InferPath::Gemm) {
            let a = run_infer(&sh, &x, &p, path);
            assert_eq!(a, run_infer(&sh, &x, &p, path), "{path:?}: a repeated call");
            // One bias of the top layer, then one recurrent weight of the bottom one.
            for k in [
                p.len() - 1,
                sh.param_offset(0) + 4 * sh.hidden * sh.input + 5,
            ] {
                let mut q = p.clone();
                q[k] += 0.25;
                let b = run_infer(&sh, &x, &q, path);
                let fresh = {
                    let (x, q) = (x.clone(), q.clone());
                    std::thread::spawn(move || run_infer(&sh, &x, &q, path))
                        .join()
                        .unwrap()
                };
                assert_eq!(
                    b, fresh,
                    "{path:?}: weight {k} changed, cached packing used"
                );
                assert_ne!(a, b, "{path:?}: weight {k} changed nothing");
            }
            assert_eq!(
                a,
                run_infer(&sh, &x, &p, path),
                "{path:?}: back to the first weights"
            );
        }
    }

    #[test]
    fn a_window_does_not_depend_on_its_batch_or_the_thread_count() {
        let (sh, x, p) = random_stack(12, 40, 3, 64, 2, 11);
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let two = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        for path in paths(&sh) {
            let a = one.install(|| run_infer(&sh, &x, &p, path));
            let b = two.install(|| run_infer(&sh, &x, &p, path));
            assert_eq!(a, b, "{path:?}: thread count changed the outputs");
            // The first 9 sequences alone (time-major rows) give the same bits as within 40.
            if path != InferPath::Gemm {
                let k = 9;
                let sub: Vec<f32> = (0..sh.steps)
                    .flat_map(|t| x[t * 40 * 3..(t * 40 + k) * 3].iter().copied())
                    .collect();
                let shk = StackShape { batch: k, ..sh };
                let alone = run_infer(&shk, &sub, &p, path);
                for t in 0..sh.steps {
                    assert_eq!(
                        alone[t * k * 64..(t + 1) * k * 64],
                        a[t * 40 * 64..(t * 40 + k) * 64],
                        "{path:?}: step {t} depends on the batch"
                    );
                }
            }
        }
    }

    #[test]
    fn chunks_cover_the_batch() {
        for b in 1..300 {
            let sh = StackShape {
                steps: 1,
                batch: b,
                input: 1,
                hidden: 1,
                layers: 1,
            };
            let c = sh.chunks();
            assert_eq!(c.iter().map(|c| c.1).sum::<usize>(), b);
            assert!(c.iter().all(|c| c.1 >= 1));
            for w in c.windows(2) {
                assert_eq!(w[0].0 + w[0].1, w[1].0);
            }
        }
    }
}
