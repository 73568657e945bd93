//! Backpropagation through time over a [`Tape`]: per step, the gate gradients in one fused pass,
//! the weight gradients accumulated per batch chunk and summed in chunk order.

use super::*;
/// One step of BPTT's element-wise part for `bc` sequences: from the gradient reaching `h_t`
/// (`dh_out + dh_next`) and the cell gradient from step `t + 1` (`dc_next`, updated in place to
/// the one for step `t - 1`), the gate pre-activation gradients `dz [bc, 4H]`.
#[allow(clippy::too_many_arguments)]
pub(super) fn bptt_step(
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
pub(super) fn bptt_step_avx2(
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
pub(super) fn bptt_step_impl<const F: bool>(
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

/// Gradients of one chunk: the stack input's and the (partial) parameters'.
pub(super) struct ChunkGrads {
    pub(super) dx: Vec<f32>,
    pub(super) dparams: Vec<f32>,
}

pub(super) fn chunk_backward(
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
