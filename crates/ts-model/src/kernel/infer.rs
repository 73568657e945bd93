//! Inference (no tape, no dropout): every layer one step at a time, per batch chunk, in
//! per-thread scratch; on x86-64 with AVX2/AVX-512 one fused SIMD pass per step over packed
//! weights ([`crate::kernel_avx2`]).

use rayon::prelude::*;

use super::*;
/// The inner loop of the inference path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum InferPath {
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
    pub(super) fn choose(sh: &StackShape) -> Self {
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
pub(super) fn infer(
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
pub(super) struct PackedStack {
    pub(super) params: Vec<f32>,
    pub(super) shape: (usize, usize, usize),
    pub(super) isa: crate::kernel_avx2::Isa,
    pub(super) layers: Vec<crate::kernel_avx2::PackedLayer>,
}

/// Stacks up to this many parameters keep their packed weights between calls (8 MiB of copies at
/// most per thread); larger ones pack on every call, where the packing is a smaller share anyway.
#[cfg(target_arch = "x86_64")]
pub(super) const PACK_CACHE_MAX_PARAMS: usize = 1 << 20;

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
pub(super) fn same_bits(a: &[f32], b: &[f32]) -> bool {
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
pub(super) fn packed_layers(
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
pub(super) const POOL_ONLY_BATCH: usize = 128;

/// One inference chunk: sequences `start..start+len`, writing the top layer's state of step `t`
/// into `outs[t]` (`[len, H]`; `outs` may hold only the last step).
pub(super) fn chunk_infer(
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
pub(super) fn chunk_infer_avx2(
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
pub(super) fn cell_step_inplace(
    z: &mut [f32],
    c: &mut [f32],
    h: &mut [f32],
    hidden: usize,
    first: bool,
) {
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
pub(super) fn cell_step_inplace_avx2(
    z: &mut [f32],
    c: &mut [f32],
    h: &mut [f32],
    hidden: usize,
    first: bool,
) {
    cell_step_inplace_impl::<true>(z, c, h, hidden, first);
}

#[inline(always)]
pub(super) fn cell_step_inplace_impl<const F: bool>(
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
