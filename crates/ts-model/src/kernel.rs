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

use rayon::prelude::*;

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

/// What the backward pass needs of one layer in one batch chunk (all `[T, bc, ·]`, time-major).
#[derive(Debug, Clone, Default)]
struct LayerTape {
    /// The layer's input when it is not the stack input (the lower layer's masked output).
    input: Vec<f32>,
    /// Gate activations `[T, bc, 4H]`: sigmoid(i), sigmoid(f), tanh(g), sigmoid(o).
    gates: Vec<f32>,
    /// Cell states `[T, bc, H]`.
    c: Vec<f32>,
    /// `tanh(c)`.
    tc: Vec<f32>,
    /// Hidden states `[T, bc, H]`.
    h: Vec<f32>,
}

/// One batch chunk's tape.
#[derive(Debug, Clone, Default)]
struct ChunkTape {
    start: usize,
    len: usize,
    /// Stack input rows of the chunk `[T, bc, I]`.
    x: Vec<f32>,
    /// Dropout masks of the chunk, one `[T, bc, H]` per layer but the top one (empty: none).
    masks: Vec<Vec<f32>>,
    layers: Vec<LayerTape>,
}

/// Everything a forward pass recorded for its backward pass.
#[derive(Debug, Clone)]
pub struct Tape {
    shape: StackShape,
    params: Vec<f32>,
    chunks: Vec<ChunkTape>,
    /// Whether the output held every step (else only the last one).
    all_steps: bool,
}

impl Tape {
    /// The sizes of the recorded call.
    pub fn shape(&self) -> StackShape {
        self.shape
    }
}

/// Rows `[T, len, w]` of a time-major `[T, B, w]` buffer, for batch elements `start..start+len`.
fn gather_rows(src: &[f32], sh: &StackShape, w: usize, start: usize, len: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(sh.steps * len * w);
    for t in 0..sh.steps {
        let base = (t * sh.batch + start) * w;
        out.extend_from_slice(&src[base..base + len * w]);
    }
    out
}

/// Writes chunk rows `[T, len, w]` back into a time-major `[T, B, w]` buffer.
fn scatter_rows(dst: &mut [f32], src: &[f32], sh: &StackShape, w: usize, start: usize, len: usize) {
    for t in 0..sh.steps {
        let base = (t * sh.batch + start) * w;
        dst[base..base + len * w].copy_from_slice(&src[t * len * w..(t + 1) * len * w]);
    }
}

/// The cell update of one step for `bc` sequences: activates `z [bc, 4H]` in place and writes
/// `c`, `tanh(c)` and `h` (`[bc, H]` each). `c_prev` is `None` at the first step (zero state).
fn cell_step(
    z: &mut [f32],
    c_prev: Option<&[f32]>,
    c: &mut [f32],
    tc: &mut [f32],
    h: &mut [f32],
    hidden: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if avx2_fma() {
        // SAFETY: the CPU has AVX2 and FMA (checked at run time above).
        unsafe { cell_step_avx2(z, c_prev, c, tc, h, hidden) };
        return;
    }
    cell_step_impl::<false>(z, c_prev, c, tc, h, hidden);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn cell_step_avx2(
    z: &mut [f32],
    c_prev: Option<&[f32]>,
    c: &mut [f32],
    tc: &mut [f32],
    h: &mut [f32],
    hidden: usize,
) {
    cell_step_impl::<true>(z, c_prev, c, tc, h, hidden);
}

#[inline(always)]
fn cell_step_impl<const F: bool>(
    z: &mut [f32],
    c_prev: Option<&[f32]>,
    c: &mut [f32],
    tc: &mut [f32],
    h: &mut [f32],
    hidden: usize,
) {
    // Straight zipped loops without branches, so that the compiler vectorises them.
    let hs = hidden;
    for (r, zr) in z.chunks_exact_mut(4 * hs).enumerate() {
        let (ifg, zo) = zr.split_at_mut(3 * hs);
        let (zif, zg) = ifg.split_at_mut(2 * hs);
        for v in zif.iter_mut() {
            *v = sigmoid_f::<F>(*v);
        }
        for v in zg.iter_mut() {
            *v = tanh_f::<F>(*v);
        }
        for v in zo.iter_mut() {
            *v = sigmoid_f::<F>(*v);
        }
        let (zi, zf) = zif.split_at(hs);
        let cr = &mut c[r * hs..(r + 1) * hs];
        match c_prev {
            Some(cp) => {
                let cp = &cp[r * hs..(r + 1) * hs];
                for ((((cj, &i), &f), &g), &p) in
                    cr.iter_mut().zip(zi).zip(zf).zip(zg.iter()).zip(cp)
                {
                    *cj = madd::<F>(f, p, i * g);
                }
            }
            None => {
                for ((cj, &i), &g) in cr.iter_mut().zip(zi).zip(zg.iter()) {
                    *cj = i * g;
                }
            }
        }
        let tr = &mut tc[r * hs..(r + 1) * hs];
        let hr = &mut h[r * hs..(r + 1) * hs];
        for (((t, hj), &cj), &o) in tr
            .iter_mut()
            .zip(hr.iter_mut())
            .zip(cr.iter())
            .zip(zo.iter())
        {
            let v = tanh_f::<F>(cj);
            *t = v;
            *hj = o * v;
        }
    }
}

/// One step of BPTT's element-wise part for `bc` sequences: from the gradient reaching `h_t`
/// (`dh_out + dh_next`) and the cell gradient from step `t + 1` (`dc_next`, updated in place to
/// the one for step `t - 1`), the gate pre-activation gradients `dz [bc, 4H]`.
#[allow(clippy::too_many_arguments)]
fn bptt_step(
    gates: &[f32],
    tcs: &[f32],
    c_prev: Option<&[f32]>,
    dh_out: &[f32],
    dh_next: &[f32],
    dc_next: &mut [f32],
    dz: &mut [f32],
    hidden: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if avx2_fma() {
        // SAFETY: the CPU has AVX2 and FMA (checked at run time above).
        unsafe { bptt_step_avx2(gates, tcs, c_prev, dh_out, dh_next, dc_next, dz, hidden) };
        return;
    }
    bptt_step_impl::<false>(gates, tcs, c_prev, dh_out, dh_next, dc_next, dz, hidden);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
fn bptt_step_avx2(
    gates: &[f32],
    tcs: &[f32],
    c_prev: Option<&[f32]>,
    dh_out: &[f32],
    dh_next: &[f32],
    dc_next: &mut [f32],
    dz: &mut [f32],
    hidden: usize,
) {
    bptt_step_impl::<true>(gates, tcs, c_prev, dh_out, dh_next, dc_next, dz, hidden);
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn bptt_step_impl<const F: bool>(
    gates: &[f32],
    tcs: &[f32],
    c_prev: Option<&[f32]>,
    dh_out: &[f32],
    dh_next: &[f32],
    dc_next: &mut [f32],
    dz: &mut [f32],
    hidden: usize,
) {
    let hs = hidden;
    let g4 = 4 * hs;
    for (r, (gr, dzr)) in gates
        .chunks_exact(g4)
        .zip(dz.chunks_exact_mut(g4))
        .enumerate()
    {
        let (gi, rest) = gr.split_at(hs);
        let (gf, rest) = rest.split_at(hs);
        let (gg, go) = rest.split_at(hs);
        let (dzi, rest) = dzr.split_at_mut(hs);
        let (dzf, rest) = rest.split_at_mut(hs);
        let (dzg, dzo) = rest.split_at_mut(hs);
        let o = r * hs;
        let tcr = &tcs[o..o + hs];
        let dhr = &dh_out[o..o + hs];
        let dhn = &dh_next[o..o + hs];
        let dcn = &mut dc_next[o..o + hs];
        // dc (into dzf for now), dz_o.
        for (((((dcj, dzoj), &og), &tcj), &a), &b) in dzf
            .iter_mut()
            .zip(dzo.iter_mut())
            .zip(go)
            .zip(tcr)
            .zip(dhr)
            .zip(dhn)
        {
            let dh = a + b;
            *dcj = dh * og * (1.0 - tcj * tcj);
            *dzoj = dh * tcj * og * (1.0 - og);
        }
        for (dcj, &n) in dzf.iter_mut().zip(dcn.iter()) {
            *dcj += n;
        }
        // dz_i, dz_g from dc; the carried cell gradient dc·f.
        for (((((dzij, dzgj), dcnj), &dc), &i), (&g, &f)) in dzi
            .iter_mut()
            .zip(dzg.iter_mut())
            .zip(dcn.iter_mut())
            .zip(dzf.iter())
            .zip(gi)
            .zip(gg.iter().zip(gf))
        {
            *dzij = dc * g * i * (1.0 - i);
            *dzgj = dc * i * (1.0 - g * g);
            *dcnj = dc * f;
        }
        // dz_f = dc · c_{t-1} · f (1 - f), zero at the first step.
        match c_prev {
            Some(cp) => {
                for ((d, &p), &f) in dzf.iter_mut().zip(&cp[o..o + hs]).zip(gf) {
                    *d *= p * f * (1.0 - f);
                }
            }
            None => dzf.fill(0.0),
        }
    }
}

/// One layer over one chunk: `input [T, bc, I]` → a filled [`LayerTape`] (without `input`).
fn layer_forward(
    sh: &StackShape,
    l: usize,
    p: LayerParams<'_>,
    w_hh_t: &[f32],
    input: &[f32],
    bc: usize,
) -> LayerTape {
    let (t_n, hs) = (sh.steps, sh.hidden);
    let g4 = 4 * hs;
    let i_n = sh.layer_input(l);
    let rows = t_n * bc;
    let mut gates = Vec::with_capacity(rows * g4);
    for _ in 0..rows {
        gates.extend(p.b_ih.iter().zip(p.b_hh).map(|(a, b)| a + b));
    }
    // Input projection of every time step at once.
    matmul(
        &mut gates,
        g4,
        true,
        View::rm(input, rows, i_n),
        View::tr(p.w_ih, i_n, g4),
    );
    let mut c = vec![0.0f32; rows * hs];
    let mut tc = vec![0.0f32; rows * hs];
    let mut h = vec![0.0f32; rows * hs];
    let step = bc * hs;
    for t in 0..t_n {
        let z = &mut gates[t * bc * g4..(t + 1) * bc * g4];
        let (h_done, h_rest) = h.split_at_mut(t * step);
        let (c_done, c_rest) = c.split_at_mut(t * step);
        if t > 0 {
            let h_prev = &h_done[(t - 1) * step..];
            rows_times(h_prev, bc, hs, w_hh_t, g4, z, true);
        }
        let c_prev = (t > 0).then(|| &c_done[(t - 1) * step..]);
        cell_step(
            z,
            c_prev,
            &mut c_rest[..step],
            &mut tc[t * step..(t + 1) * step],
            &mut h_rest[..step],
            hs,
        );
    }
    LayerTape {
        input: Vec::new(),
        gates,
        c,
        tc,
        h,
    }
}

/// The whole stack over one chunk.
fn chunk_forward(
    sh: &StackShape,
    params: &[f32],
    w_hh_t: &[Aligned],
    x: &[f32],
    masks: Option<&[f32]>,
    start: usize,
    len: usize,
) -> ChunkTape {
    let xc = gather_rows(x, sh, sh.input, start, len);
    let mc: Vec<Vec<f32>> = match masks {
        Some(m) => (0..sh.layers - 1)
            .map(|l| {
                let per = sh.steps * sh.batch * sh.hidden;
                gather_rows(&m[l * per..(l + 1) * per], sh, sh.hidden, start, len)
            })
            .collect(),
        None => Vec::new(),
    };
    let mut layers: Vec<LayerTape> = Vec::with_capacity(sh.layers);
    for l in 0..sh.layers {
        let p = layer_params(sh, params, l);
        let tape = if l == 0 {
            layer_forward(sh, l, p, w_hh_t[l].as_slice(), &xc, len)
        } else {
            let below = &layers[l - 1].h;
            let input: Vec<f32> = match mc.get(l - 1) {
                Some(m) => below.iter().zip(m).map(|(h, m)| h * m).collect(),
                None => below.clone(),
            };
            let mut t = layer_forward(sh, l, p, w_hh_t[l].as_slice(), &input, len);
            t.input = input;
            t
        };
        layers.push(tape);
    }
    ChunkTape {
        start,
        len,
        x: xc,
        masks: mc,
        layers,
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

/// Forward pass of the stack: `x [T, B, I]` (time-major) → the top layer's hidden states
/// `[T, B, H]` (`all_steps`) or those of the last step `[B, H]`, and the tape for [`backward`] when
/// `keep_tape`. `masks` (optional) holds one inverted
/// dropout mask `[T, B, H]` per layer but the top one, applied to that layer's output.
///
/// # Panics
/// If a buffer's length disagrees with `sh`.
pub fn forward(
    sh: StackShape,
    x: &[f32],
    params: &[f32],
    masks: Option<&[f32]>,
    keep_tape: bool,
    all_steps: bool,
) -> (Vec<f32>, Option<Tape>) {
    check(&sh, x, params, masks);
    let hs = sh.hidden;
    let out_steps = if all_steps { sh.steps } else { 1 };
    let mut out = vec![0.0f32; out_steps * sh.batch * hs];
    if sh.batch == 0 {
        let tape = keep_tape.then(|| Tape {
            shape: sh,
            params: params.to_vec(),
            chunks: Vec::new(),
            all_steps,
        });
        return (out, tape);
    }
    if !keep_tape && masks.is_none() {
        infer(&sh, x, params, &mut out, InferPath::choose(&sh), all_steps);
        return (out, None);
    }
    let parts = if keep_tape {
        sh.chunks()
    } else {
        sh.inference_chunks()
    };
    // `W_hhᵀ [H, 4H]` of every layer, row-major, once per call: the right-hand side of the per-step
    // recurrent products.
    let g4 = 4 * hs;
    let w_hh_t: Vec<Aligned> = (0..sh.layers)
        .map(|l| {
            let mut t = Aligned::zeroed(hs * g4);
            let tv = t.as_mut_slice();
            for (j, row) in layer_params(&sh, params, l)
                .w_hh
                .chunks_exact(hs)
                .enumerate()
            {
                for (k, &v) in row.iter().enumerate() {
                    tv[k * g4 + j] = v;
                }
            }
            t
        })
        .collect();
    let run =
        |&(start, len): &(usize, usize)| chunk_forward(&sh, params, &w_hh_t, x, masks, start, len);
    // One chunk (small batches, streaming inference) runs on the calling thread: no hand-off.
    let chunks: Vec<ChunkTape> = crate::spin_pool::map(&parts, run);
    for ch in &chunks {
        let top = &ch.layers[sh.layers - 1].h;
        if all_steps {
            scatter_rows(&mut out, top, &sh, hs, ch.start, ch.len);
        } else {
            let last = (sh.steps - 1) * ch.len * hs;
            out[ch.start * hs..(ch.start + ch.len) * hs]
                .copy_from_slice(&top[last..last + ch.len * hs]);
        }
    }
    let tape = keep_tape.then(|| Tape {
        shape: sh,
        params: params.to_vec(),
        chunks,
        all_steps,
    });
    (out, tape)
}

/// The inner loop of the inference path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InferPath {
    /// Per step: GEMMs through `gemm`, then the cell update ([`chunk_infer`]).
    Gemm,
    /// The fused SIMD step of [`crate::kernel_avx2`] on packed weights ([`chunk_infer_avx2`]).
    #[cfg(target_arch = "x86_64")]
    Packed(crate::kernel_avx2::Isa),
}

impl InferPath {
    /// The packed SIMD step where the CPU and the hidden size allow it: from batch 2 up it is
    /// faster than the GEMM path (at batch 2-4 several times), and at batch 1 as fast, packing
    /// included.
    fn choose(sh: &StackShape) -> Self {
        #[cfg(target_arch = "x86_64")]
        if let Some(isa) = crate::kernel_avx2::Isa::for_hidden(sh.hidden) {
            return Self::Packed(isa);
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = sh;
        Self::Gemm
    }
}

thread_local! {
    /// Per-thread scratch of the inference path, reused across calls so that a call allocates
    /// (and page-faults) nothing once warm.
    static SCRATCH: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Inference without a tape or masks: every layer advances one time step before the next step
/// starts (a wavefront), so a chunk keeps only the current `h` and `c` of each layer and one gate
/// buffer `[bc, 4H]`, all in reused per-thread scratch that stays in cache. `out` is the top
/// layer's `[T, B, H]`.
fn infer(
    sh: &StackShape,
    x: &[f32],
    params: &[f32],
    out: &mut [f32],
    path: InferPath,
    all_steps: bool,
) {
    let parts = sh.inference_chunks();
    let row = sh.batch * sh.hidden;
    // Each chunk's output rows: for every output step, the chunk's slice of that step's row.
    debug_assert_eq!(out.len(), if all_steps { sh.steps } else { 1 } * row);
    let mut per_chunk: Vec<Vec<&mut [f32]>> = (0..parts.len())
        .map(|_| Vec::with_capacity(sh.steps))
        .collect();
    for step_row in out.chunks_exact_mut(row) {
        let mut rest = step_row;
        for (slot, &(_, len)) in per_chunk.iter_mut().zip(&parts) {
            let (mine, tail) = rest.split_at_mut(len * sh.hidden);
            slot.push(mine);
            rest = tail;
        }
    }
    #[cfg(target_arch = "x86_64")]
    let packed = match path {
        InferPath::Packed(isa) => Some(packed_layers(sh, params, isa)),
        InferPath::Gemm => None,
    };
    let run = |((start, len), outs): ((usize, usize), Vec<&mut [f32]>)| {
        SCRATCH.with(|s| {
            let mut s = s.borrow_mut();
            #[cfg(target_arch = "x86_64")]
            if let Some(pk) = &packed {
                chunk_infer_avx2(sh, &pk.layers, x, start, len, outs, &mut s);
                return;
            }
            chunk_infer(sh, params, x, start, len, outs, &mut s);
        });
    };
    // Several chunks: the calling thread and the spinning inference workers (see
    // [`crate::spin_pool`]); rayon when those are in use by another thread or disabled.
    if parts.len() > 1 {
        let jobs: Vec<std::sync::Mutex<Option<_>>> = parts
            .iter()
            .copied()
            .zip(per_chunk.iter_mut().map(std::mem::take))
            .map(|job| std::sync::Mutex::new(Some(job)))
            .collect();
        let ran = crate::spin_pool::run(jobs.len(), &|i| {
            let job = jobs[i].lock().ok().and_then(|mut j| j.take());
            if let Some(job) = job {
                run(job);
            }
        });
        if ran {
            return;
        }
        for (slot, job) in per_chunk.iter_mut().zip(jobs) {
            if let Some((_, outs)) = job.into_inner().ok().flatten() {
                *slot = outs;
            }
        }
    }
    let mut jobs = parts.into_iter().zip(per_chunk);
    if sh.batch >= POOL_ONLY_BATCH {
        // Long chunks: all on the pool while the caller sleeps (measured faster at batch 256).
        jobs.collect::<Vec<_>>().into_par_iter().for_each(run);
        return;
    }
    let Some(first) = jobs.next() else {
        return;
    };
    // Short chunks: the calling thread runs the first one itself while the pool runs the others,
    // one hand-off fewer (measured 1.3-1.6× faster at batch 32); a single chunk never leaves it.
    let run = &run;
    rayon::in_place_scope(|scope| {
        for job in jobs {
            scope.spawn(move |_| run(job));
        }
        run(first);
    });
}

/// Every layer of one parameter vector packed for the SIMD step, with the key it was packed from.
#[cfg(target_arch = "x86_64")]
struct PackedStack {
    params: Vec<f32>,
    shape: (usize, usize, usize),
    isa: crate::kernel_avx2::Isa,
    layers: Vec<crate::kernel_avx2::PackedLayer>,
}

/// Stacks up to this many parameters keep their packed weights between calls (8 MiB of copies at
/// most per thread); larger ones pack on every call, where the packing is a smaller share anyway.
#[cfg(target_arch = "x86_64")]
const PACK_CACHE_MAX_PARAMS: usize = 1 << 20;

#[cfg(target_arch = "x86_64")]
thread_local! {
    /// The last stack this thread packed: streaming inference calls the same model again and
    /// again, and packing is about half of a batch-1 call.
    static PACK_CACHE: std::cell::RefCell<Option<std::sync::Arc<PackedStack>>> =
        const { std::cell::RefCell::new(None) };
}

/// Whether two parameter vectors are bit for bit the same (a branch-free fold that vectorises:
/// a few µs for the seed model's 50,000 parameters, against 25 µs to pack them).
#[cfg(target_arch = "x86_64")]
fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len()
        && a.chunks(64).zip(b.chunks(64)).all(|(x, y)| {
            x.iter()
                .zip(y)
                .fold(0u32, |acc, (p, q)| acc | (p.to_bits() ^ q.to_bits()))
                == 0
        })
}

/// The packed layers of `params`: from this thread's cache when the parameters (bits), sizes and
/// instruction set are those of its last call, else packed now (and cached when small enough).
#[cfg(target_arch = "x86_64")]
fn packed_layers(
    sh: &StackShape,
    params: &[f32],
    isa: crate::kernel_avx2::Isa,
) -> std::sync::Arc<PackedStack> {
    let shape = (sh.input, sh.hidden, sh.layers);
    let hit = PACK_CACHE.with(|c| {
        c.borrow()
            .as_ref()
            .filter(|p| p.shape == shape && p.isa == isa && same_bits(&p.params, params))
            .cloned()
    });
    if let Some(p) = hit {
        return p;
    }
    let layers = (0..sh.layers)
        .map(|l| {
            let p = layer_params(sh, params, l);
            let i_n = sh.layer_input(l);
            crate::kernel_avx2::pack(isa, p.w_ih, p.w_hh, p.b_ih, p.b_hh, i_n, sh.hidden)
        })
        .collect();
    let small = params.len() <= PACK_CACHE_MAX_PARAMS;
    let stack = std::sync::Arc::new(PackedStack {
        params: if small { params.to_vec() } else { Vec::new() },
        shape,
        isa,
        layers,
    });
    if small {
        PACK_CACHE.with(|c| *c.borrow_mut() = Some(stack.clone()));
    }
    stack
}

/// From this batch size up, inference chunks all run on rayon's pool (see [`infer`]).
const POOL_ONLY_BATCH: usize = 128;

/// One inference chunk: sequences `start..start+len`, writing the top layer's state of step `t`
/// into `outs[t]` (`[len, H]`; `outs` may hold only the last step).
fn chunk_infer(
    sh: &StackShape,
    params: &[f32],
    x: &[f32],
    start: usize,
    len: usize,
    mut outs: Vec<&mut [f32]>,
    scratch: &mut Vec<f32>,
) {
    let (hs, nl, bc) = (sh.hidden, sh.layers, len);
    let g4 = 4 * hs;
    let state = bc * hs;
    // Layout: z [bc, 4H] | biases [L, 4H] | per layer h [bc, H], c [bc, H].
    let need = bc * g4 + nl * g4 + 2 * nl * state;
    // `outs` holds every step, or only the last one.
    let first_out = sh.steps - outs.len();
    scratch.clear();
    scratch.resize(need, 0.0);
    let (z, rest) = scratch.split_at_mut(bc * g4);
    let (bias, states) = rest.split_at_mut(nl * g4);
    let lp: Vec<LayerParams<'_>> = (0..nl).map(|l| layer_params(sh, params, l)).collect();
    for (b, p) in bias.chunks_exact_mut(g4).zip(&lp) {
        for ((v, &a), &c) in b.iter_mut().zip(p.b_ih).zip(p.b_hh) {
            *v = a + c;
        }
    }
    for t in 0..sh.steps {
        for l in 0..nl {
            let p = lp[l];
            let i_n = sh.layer_input(l);
            for zr in z.chunks_exact_mut(g4) {
                zr.copy_from_slice(&bias[l * g4..(l + 1) * g4]);
            }
            let (below, this) = states.split_at_mut(2 * l * state);
            let (h, c) = this[..2 * state].split_at_mut(state);
            let input: &[f32] = if l == 0 {
                let base = (t * sh.batch + start) * sh.input;
                &x[base..base + bc * sh.input]
            } else {
                &below[2 * (l - 1) * state..(2 * l - 1) * state]
            };
            matmul(
                z,
                g4,
                true,
                View::rm(input, bc, i_n),
                View::tr(p.w_ih, i_n, g4),
            );
            if t > 0 {
                matmul(z, g4, true, View::rm(h, bc, hs), View::tr(p.w_hh, hs, g4));
            }
            cell_step_inplace(z, c, h, hs, t == 0);
            if l == nl - 1 && t >= first_out {
                outs[t - first_out].copy_from_slice(h);
            }
        }
    }
}

/// [`chunk_infer`] with the fused AVX2 step ([`crate::kernel_avx2`]): per layer two hidden-state
/// buffers used in turn (the step reads one and writes the other) and the cell state.
#[cfg(target_arch = "x86_64")]
fn chunk_infer_avx2(
    sh: &StackShape,
    packed: &[crate::kernel_avx2::PackedLayer],
    x: &[f32],
    start: usize,
    len: usize,
    mut outs: Vec<&mut [f32]>,
    scratch: &mut Vec<f32>,
) {
    let state = len * sh.hidden;
    let first_out = sh.steps - outs.len();
    scratch.clear();
    scratch.resize(3 * sh.layers * state, 0.0);
    for t in 0..sh.steps {
        let now = t % 2;
        for (l, p) in packed.iter().enumerate() {
            let (below, this) = scratch.split_at_mut(3 * l * state);
            let (h0, rest) = this.split_at_mut(state);
            let (h1, rest) = rest.split_at_mut(state);
            let c = &mut rest[..state];
            let (h_prev, h_out) = if now == 0 { (h1, h0) } else { (h0, h1) };
            let input: &[f32] = if l == 0 {
                let base = (t * sh.batch + start) * sh.input;
                &x[base..base + len * sh.input]
            } else {
                let b = 3 * (l - 1) * state + now * state;
                &below[b..b + state]
            };
            let h_prev = (t > 0).then_some(&*h_prev);
            crate::kernel_avx2::step(p, len, input, h_prev, c, h_out);
            if l == sh.layers - 1 && t >= first_out {
                outs[t - first_out].copy_from_slice(h_out);
            }
        }
    }
}

/// The cell update of one inference step, in place: activates `z [bc, 4H]` and overwrites `c` and
/// `h` (`[bc, H]`) with the new states; `first` means a zero previous state.
fn cell_step_inplace(z: &mut [f32], c: &mut [f32], h: &mut [f32], hidden: usize, first: bool) {
    #[cfg(target_arch = "x86_64")]
    if avx2_fma() {
        // SAFETY: the CPU has AVX2 and FMA (checked at run time above).
        unsafe { cell_step_inplace_avx2(z, c, h, hidden, first) };
        return;
    }
    cell_step_inplace_impl::<false>(z, c, h, hidden, first);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn cell_step_inplace_avx2(z: &mut [f32], c: &mut [f32], h: &mut [f32], hidden: usize, first: bool) {
    cell_step_inplace_impl::<true>(z, c, h, hidden, first);
}

#[inline(always)]
fn cell_step_inplace_impl<const F: bool>(
    z: &mut [f32],
    c: &mut [f32],
    h: &mut [f32],
    hidden: usize,
    first: bool,
) {
    let hs = hidden;
    if first {
        c.fill(0.0);
    }
    for ((zr, cr), hr) in z
        .chunks_exact_mut(4 * hs)
        .zip(c.chunks_exact_mut(hs))
        .zip(h.chunks_exact_mut(hs))
    {
        let (ifg, zo) = zr.split_at_mut(3 * hs);
        let (zif, zg) = ifg.split_at_mut(2 * hs);
        for v in zif.iter_mut() {
            *v = sigmoid_f::<F>(*v);
        }
        for v in zg.iter_mut() {
            *v = tanh_f::<F>(*v);
        }
        for v in zo.iter_mut() {
            *v = sigmoid_f::<F>(*v);
        }
        let (zi, zf) = zif.split_at(hs);
        for ((((cj, &i), &f), &g), (hj, &o)) in cr
            .iter_mut()
            .zip(zi)
            .zip(zf)
            .zip(zg.iter())
            .zip(hr.iter_mut().zip(zo.iter()))
        {
            let cn = madd::<F>(f, *cj, i * g);
            *cj = cn;
            *hj = o * tanh_f::<F>(cn);
        }
    }
}

/// Gradients of one chunk: the stack input's and the (partial) parameters'.
struct ChunkGrads {
    dx: Vec<f32>,
    dparams: Vec<f32>,
}

fn chunk_backward(
    sh: &StackShape,
    params: &[f32],
    ch: &ChunkTape,
    d_out: &[f32],
    need_dx: bool,
) -> ChunkGrads {
    let (t_n, hs, bc) = (sh.steps, sh.hidden, ch.len);
    let g4 = 4 * hs;
    let rows = t_n * bc;
    let step = bc * hs;
    let mut dparams = vec![0.0f32; sh.param_len()];
    let mut dh_layer = gather_rows(d_out, sh, hs, ch.start, bc);
    let mut dx = Vec::new();
    let mut dz = vec![0.0f32; rows * g4];
    let mut dh_next = vec![0.0f32; step];
    let mut dc_next = vec![0.0f32; step];
    for l in (0..sh.layers).rev() {
        let p = layer_params(sh, params, l);
        let tape = &ch.layers[l];
        let i_n = sh.layer_input(l);
        dh_next.fill(0.0);
        dc_next.fill(0.0);
        for t in (0..t_n).rev() {
            let gates = &tape.gates[t * bc * g4..(t + 1) * bc * g4];
            let tcs = &tape.tc[t * step..(t + 1) * step];
            let c_prev = (t > 0).then(|| &tape.c[(t - 1) * step..t * step]);
            let dh_out = &dh_layer[t * step..(t + 1) * step];
            let dzt = &mut dz[t * bc * g4..(t + 1) * bc * g4];
            bptt_step(gates, tcs, c_prev, dh_out, &dh_next, &mut dc_next, dzt, hs);
            if t > 0 {
                // dh_{t-1} = dz_t · W_hh
                let dzt = &dz[t * bc * g4..(t + 1) * bc * g4];
                rows_times(dzt, bc, g4, p.w_hh, hs, &mut dh_next, false);
            }
        }
        // Parameter gradients of layer l, summed over every step and sequence of the chunk.
        let off = sh.param_offset(l);
        let (dw_ih, rest) = dparams[off..sh.param_offset(l + 1)].split_at_mut(g4 * i_n);
        let (dw_hh, rest) = rest.split_at_mut(g4 * hs);
        let (db_ih, db_hh) = rest.split_at_mut(g4);
        let input: &[f32] = if l == 0 { &ch.x } else { &tape.input };
        matmul(
            dw_ih,
            i_n,
            false,
            View::tr(&dz, g4, rows),
            View::rm(input, rows, i_n),
        );
        if t_n > 1 {
            matmul(
                dw_hh,
                hs,
                false,
                View::tr(&dz[bc * g4..], g4, (t_n - 1) * bc),
                View::rm(&tape.h, (t_n - 1) * bc, hs),
            );
        }
        for row in dz.chunks_exact(g4) {
            for (d, v) in db_ih.iter_mut().zip(row) {
                *d += v;
            }
        }
        db_hh.copy_from_slice(db_ih);
        if l > 0 || need_dx {
            let mut d_in = vec![0.0f32; rows * i_n];
            matmul(
                &mut d_in,
                i_n,
                false,
                View::rm(&dz, rows, g4),
                View::rm(p.w_ih, g4, i_n),
            );
            if l > 0 {
                if let Some(m) = ch.masks.get(l - 1) {
                    for (d, m) in d_in.iter_mut().zip(m) {
                        *d *= m;
                    }
                }
                dh_layer = d_in;
            } else {
                dx = d_in;
            }
        }
    }
    ChunkGrads { dx, dparams }
}

/// Backward pass through time: from the gradient of the loss with respect to the stack's output
/// (`[T, B, H]`, time-major) to the gradients of the stack input `[T, B, I]` (only when `need_dx`;
/// empty otherwise) and of the packed parameters.
///
/// # Panics
/// If `d_out` has the wrong length.
pub fn backward(tape: &Tape, d_out: &[f32], need_dx: bool) -> (Vec<f32>, Vec<f32>) {
    let sh = tape.shape;
    let out_steps = if tape.all_steps { sh.steps } else { 1 };
    assert_eq!(
        d_out.len(),
        out_steps * sh.batch * sh.hidden,
        "lstm_stack: output gradient length"
    );
    // A last-step output: the gradient reaching the other steps' outputs is zero.
    let full;
    let d_out = if tape.all_steps {
        d_out
    } else {
        let mut g = vec![0.0f32; sh.steps * sh.batch * sh.hidden];
        g[(sh.steps - 1) * sh.batch * sh.hidden..].copy_from_slice(d_out);
        full = g;
        &full
    };
    let run = |ch: &ChunkTape| chunk_backward(&sh, &tape.params, ch, d_out, need_dx);
    let parts: Vec<ChunkGrads> = crate::spin_pool::map(&tape.chunks, run);
    let mut dparams = vec![0.0f32; sh.param_len()];
    let mut dx = if need_dx {
        vec![0.0f32; sh.steps * sh.batch * sh.input]
    } else {
        Vec::new()
    };
    for (ch, g) in tape.chunks.iter().zip(&parts) {
        for (d, v) in dparams.iter_mut().zip(&g.dparams) {
            *d += v;
        }
        if need_dx {
            scatter_rows(&mut dx, &g.dx, &sh, sh.input, ch.start, ch.len);
        }
    }
    (dx, dparams)
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
