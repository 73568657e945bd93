//! The taped forward pass (training): per layer, one product projects every time step's inputs
//! and one product per step adds the recurrent part; the [`Tape`] keeps what backpropagation reads.

use super::*;
/// What the backward pass needs of one layer in one batch chunk (all `[T, bc, ·]`, time-major).
#[derive(Debug, Clone, Default)]
pub(super) struct LayerTape {
    /// The layer's input when it is not the stack input (the lower layer's masked output).
    pub(super) input: Vec<f32>,
    /// Gate activations `[T, bc, 4H]`: sigmoid(i), sigmoid(f), tanh(g), sigmoid(o).
    pub(super) gates: Vec<f32>,
    /// Cell states `[T, bc, H]`.
    pub(super) c: Vec<f32>,
    /// `tanh(c)`.
    pub(super) tc: Vec<f32>,
    /// Hidden states `[T, bc, H]`.
    pub(super) h: Vec<f32>,
}

/// One batch chunk's tape.
#[derive(Debug, Clone, Default)]
pub(super) struct ChunkTape {
    pub(super) start: usize,
    pub(super) len: usize,
    /// Stack input rows of the chunk `[T, bc, I]`.
    pub(super) x: Vec<f32>,
    /// Dropout masks of the chunk, one `[T, bc, H]` per layer but the top one (empty: none).
    pub(super) masks: Vec<Vec<f32>>,
    pub(super) layers: Vec<LayerTape>,
}

/// Everything a forward pass recorded for its backward pass.
#[derive(Debug, Clone)]
pub struct Tape {
    pub(super) shape: StackShape,
    pub(super) params: Vec<f32>,
    pub(super) chunks: Vec<ChunkTape>,
    /// Whether the output held every step (else only the last one).
    pub(super) all_steps: bool,
}

impl Tape {
    /// The sizes of the recorded call.
    pub fn shape(&self) -> StackShape {
        self.shape
    }
}

/// Rows `[T, len, w]` of a time-major `[T, B, w]` buffer, for batch elements `start..start+len`.
pub(super) fn gather_rows(
    src: &[f32],
    sh: &StackShape,
    w: usize,
    start: usize,
    len: usize,
) -> Vec<f32> {
    let mut out = Vec::with_capacity(sh.steps * len * w);
    for t in 0..sh.steps {
        let base = (t * sh.batch + start) * w;
        out.extend_from_slice(&src[base..base + len * w]);
    }
    out
}

/// Writes chunk rows `[T, len, w]` back into a time-major `[T, B, w]` buffer.
pub(super) fn scatter_rows(
    dst: &mut [f32],
    src: &[f32],
    sh: &StackShape,
    w: usize,
    start: usize,
    len: usize,
) {
    for t in 0..sh.steps {
        let base = (t * sh.batch + start) * w;
        dst[base..base + len * w].copy_from_slice(&src[t * len * w..(t + 1) * len * w]);
    }
}

/// The cell update of one step for `bc` sequences: activates `z [bc, 4H]` in place and writes
/// `c`, `tanh(c)` and `h` (`[bc, H]` each). `c_prev` is `None` at the first step (zero state).
pub(super) fn cell_step(
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
pub(super) fn cell_step_avx2(
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
pub(super) fn cell_step_impl<const F: bool>(
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

/// One layer over one chunk: `input [T, bc, I]` → a filled [`LayerTape`] (without `input`).
pub(super) fn layer_forward(
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
pub(super) fn chunk_forward(
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
