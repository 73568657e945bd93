//! The inference step of the fused LSTM on x86-64 CPUs with AVX-512 or AVX2 + FMA: the gate matrix
//! product and the cell update of one layer and one time step in one pass, with nothing written to
//! memory between them.
//!
//! The weights are packed once per call so that the four gates (i, f, g, o) of a group of hidden
//! units (one vector: 16 with AVX-512, 8 with AVX2) sit side by side. A tile of 4 (AVX-512) or 3
//! (AVX2) sequences × one unit group keeps its gate accumulators in registers over the whole
//! reduction (the layer input, then the previous hidden state), starts from the summed biases, and
//! ends with the cell update (sigmoid, tanh, `c`, `h`) applied to the registers. Each packed group
//! (`K × 4 × units` floats) stays in L1 while every sequence of the chunk passes through it. Every
//! sequence is computed on its own, in the same order whatever the batch size or the chunking, so
//! a window's forecast does not depend on what it is batched with.
//!
//! Used only where the hidden size is a multiple of the unit group and the CPU has the instructions
//! ([`Isa::for_hidden`]); the portable path in [`crate::kernel`] covers the rest.

// SIMD intrinsics, and raw-pointer loads/stores behind the length checks of `step`.
#![allow(unsafe_code)]

use crate::kernel::Aligned;

/// The instruction set the step runs with; only [`Isa::detect`] and [`Isa::for_hidden`] make one,
/// so holding an `Isa` proves the CPU has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Isa(Kind);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Avx512,
    Avx2,
}

impl Isa {
    /// The best instruction set of this CPU (checked once), if it has AVX2 and FMA at least.
    /// `TSF_CPU_CAPABILITY=avx2` (like PyTorch's `ATEN_CPU_CAPABILITY`) keeps to AVX2 on an AVX-512
    /// CPU, to measure or compare that path.
    pub fn detect() -> Option<Self> {
        static ISA: std::sync::OnceLock<Option<Isa>> = std::sync::OnceLock::new();
        *ISA.get_or_init(|| {
            let avx2_only = std::env::var("TSF_CPU_CAPABILITY").is_ok_and(|v| v == "avx2");
            if std::arch::is_x86_feature_detected!("avx512f") && !avx2_only {
                Some(Isa(Kind::Avx512))
            } else if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                Some(Isa(Kind::Avx2))
            } else {
                None
            }
        })
    }

    /// The best instruction set of this CPU whose vector width divides `hidden`: AVX-512 for
    /// multiples of 16, AVX2 for other multiples of 8 (on a CPU that has AVX-512, AVX2 too).
    pub fn for_hidden(hidden: usize) -> Option<Self> {
        let best = Self::detect()?;
        if hidden.is_multiple_of(best.units()) {
            Some(best)
        } else if hidden.is_multiple_of(8) {
            Some(Isa(Kind::Avx2))
        } else {
            None
        }
    }

    /// The best instruction set of this CPU for rows of `width` floats ([`rows_times`]): AVX-512
    /// for multiples of 16, AVX2 for other multiples of 8.
    pub fn for_width(width: usize) -> Option<Self> {
        Self::for_hidden(width)
    }

    /// Every instruction set this CPU can run the step with (for tests that cover each).
    #[cfg(test)]
    pub fn available() -> Vec<Self> {
        let mut out = Vec::new();
        if Self::detect() == Some(Isa(Kind::Avx512)) {
            out.push(Isa(Kind::Avx512));
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            out.push(Isa(Kind::Avx2));
        }
        out
    }

    /// Hidden units per vector (the hidden size must be a multiple of it).
    pub fn units(self) -> usize {
        match self.0 {
            Kind::Avx512 => 16,
            Kind::Avx2 => 8,
        }
    }
}

/// One layer's weights in the tile layout: for each group of `u` hidden units (one vector), for
/// each reduction index `k`, the 4 gates' weights (`[H/u][K][4][u]`), for the input and the
/// recurrent part.
#[derive(Debug, Clone)]
pub struct PackedLayer {
    w_in: Aligned,
    w_rec: Aligned,
    bias: Vec<f32>,
    input: usize,
    hidden: usize,
    isa: Isa,
}

/// Packs one layer (`w_ih [4H, I]`, `w_hh [4H, H]`, biases `[4H]`, PyTorch's layout) for `isa`.
///
/// # Panics
/// If `hidden` is not a multiple of `isa.units()` or a slice length disagrees.
pub fn pack(
    isa: Isa,
    w_ih: &[f32],
    w_hh: &[f32],
    b_ih: &[f32],
    b_hh: &[f32],
    input: usize,
    hidden: usize,
) -> PackedLayer {
    let units = isa.units();
    assert!(
        hidden.is_multiple_of(units),
        "pack: hidden size {hidden} is not a multiple of {units}"
    );
    assert_eq!(w_ih.len(), 4 * hidden * input, "pack: w_ih length");
    assert_eq!(w_hh.len(), 4 * hidden * hidden, "pack: w_hh length");
    assert!(
        b_ih.len() == 4 * hidden && b_hh.len() == 4 * hidden,
        "pack: bias length"
    );
    let groups = hidden / units;
    // One (group, gate) block at a time: its `u` source rows (u × K floats, in L1) are read down
    // their columns and written as contiguous runs of `u` weights, one per k.
    let pack_w = |w: &[f32], k_n: usize| {
        let mut buf = Aligned::zeroed(4 * hidden * k_n);
        let out = buf.as_mut_slice();
        for grp in 0..groups {
            let dst = &mut out[grp * k_n * 4 * units..(grp + 1) * k_n * 4 * units];
            for gate in 0..4 {
                let first = (gate * hidden + grp * units) * k_n;
                let rows = &w[first..first + units * k_n];
                for (k, d) in dst.chunks_exact_mut(4 * units).enumerate() {
                    for (u, v) in d[gate * units..(gate + 1) * units].iter_mut().enumerate() {
                        *v = rows[u * k_n + k];
                    }
                }
            }
        }
        buf
    };
    let mut bias = Vec::with_capacity(4 * hidden);
    for grp in 0..groups {
        for gate in 0..4 {
            for u in 0..units {
                let j = gate * hidden + grp * units + u;
                bias.push(b_ih[j] + b_hh[j]);
            }
        }
    }
    PackedLayer {
        w_in: pack_w(w_ih, input),
        w_rec: pack_w(w_hh, hidden),
        bias,
        input,
        hidden,
        isa,
    }
}

/// One time step of one layer for `rows` sequences: `input [rows, I]`, the previous hidden state
/// `h_prev [rows, H]` (`None`: zero state, first step), the cell state `c [rows, H]` (read unless
/// first, then overwritten), and the new hidden state written to `h_out [rows, H]`.
///
/// # Panics
/// If a slice is shorter than its shape.
pub fn step(
    p: &PackedLayer,
    rows: usize,
    input: &[f32],
    h_prev: Option<&[f32]>,
    c: &mut [f32],
    h_out: &mut [f32],
) {
    let (ki, hs) = (p.input, p.hidden);
    assert!(input.len() >= rows * ki, "step: input too short");
    assert!(
        c.len() >= rows * hs && h_out.len() >= rows * hs,
        "step: state too short"
    );
    if let Some(h) = h_prev {
        assert!(h.len() >= rows * hs, "step: h_prev too short");
    }
    let io = Io {
        input: input.as_ptr(),
        h_prev: h_prev.map(<[f32]>::as_ptr),
        c: c.as_mut_ptr(),
        h_out: h_out.as_mut_ptr(),
        ki,
        hs,
    };
    // SAFETY: `p.isa` came from `Isa::detect`, so the CPU has its instructions; the lengths were
    // checked above and the packed sizes follow from `pack`.
    unsafe {
        match p.isa.0 {
            Kind::Avx512 => avx512::run(p, &io, rows),
            Kind::Avx2 => avx2::run(p, &io, rows),
        }
    }
}

/// `out (+)= a · w` for row-major `a [rows, k_n]`, `w [k_n, n]`, `out [rows, n]` (`accumulate`:
/// add to `out`, else overwrite it), with register tiles of a few rows × up to 4 vectors of columns;
/// no packing, since `w`'s rows are already contiguous along `n`. Each output element sums over `k`
/// in order, whatever `rows`.
///
/// # Panics
/// If `n` is not a multiple of `isa.units()` or a slice is shorter than its shape.
#[allow(clippy::too_many_arguments)]
pub fn rows_times(
    isa: Isa,
    a: &[f32],
    rows: usize,
    k_n: usize,
    w: &[f32],
    n: usize,
    out: &mut [f32],
    accumulate: bool,
) {
    assert!(n.is_multiple_of(isa.units()), "rows_times: width {n}");
    assert!(a.len() >= rows * k_n, "rows_times: a too short");
    assert!(w.len() >= k_n * n, "rows_times: w too short");
    assert!(out.len() >= rows * n, "rows_times: out too short");
    // SAFETY: `isa` came from `Isa::detect`/`for_hidden`, so the CPU has its instructions; the
    // lengths were checked above.
    unsafe {
        match isa.0 {
            Kind::Avx512 => avx512::rows_times(
                a.as_ptr(),
                rows,
                k_n,
                w.as_ptr(),
                n,
                out.as_mut_ptr(),
                accumulate,
            ),
            Kind::Avx2 => avx2::rows_times(
                a.as_ptr(),
                rows,
                k_n,
                w.as_ptr(),
                n,
                out.as_mut_ptr(),
                accumulate,
            ),
        }
    }
}

/// Raw views of one step's buffers (lengths checked by [`step`]).
struct Io {
    input: *const f32,
    h_prev: Option<*const f32>,
    c: *mut f32,
    h_out: *mut f32,
    ki: usize,
    hs: usize,
}

/// One instruction set's kernel: the same code over its vector type and intrinsics; `extra`
/// defines that set's `exp` and `recip`.
macro_rules! simd_kernel {
    (
        $name:ident, $feat:literal, $units:literal, $rows:literal, $v:ident,
        $loadu:ident, $storeu:ident, $set1:ident, $setzero:ident, $fmadd:ident, $mul:ident,
        $add:ident, $sub:ident,
        extra: { $($extra:tt)* }
    ) => {
        mod $name {
            use super::{Io, PackedLayer};
            use std::arch::x86_64::*;

            const UNITS: usize = $units;
            const ROW: usize = 4 * UNITS;

            /// Every unit group × every row of one step.
            #[target_feature(enable = $feat)]
            pub(super) unsafe fn run(p: &PackedLayer, io: &Io, rows: usize) {
                for grp in 0..io.hs / UNITS {
                    let mut r = 0;
                    while r + $rows <= rows {
                        // SAFETY: rows r.. of group `grp` are inside the buffers (see `step`).
                        unsafe { tile::<$rows>(p, io, grp, r) };
                        r += $rows;
                    }
                    while r < rows {
                        // SAFETY: as above, one row at a time for the rest.
                        unsafe { tile::<1>(p, io, grp, r) };
                        r += 1;
                    }
                }
            }

            /// `R` sequences from `r0` × the units of group `grp`.
            #[target_feature(enable = $feat)]
            #[inline]
            unsafe fn tile<const R: usize>(p: &PackedLayer, io: &Io, grp: usize, r0: usize) {
                // SAFETY (whole body): the caller checked that rows r0..r0+R and the units of
                // `grp` lie inside every buffer; packed offsets follow `pack`'s layout exactly.
                unsafe {
                    let bias = p.bias.as_ptr().add(grp * ROW);
                    let mut acc = [[$setzero(); 4]; R];
                    for row in acc.iter_mut() {
                        for (g, a) in row.iter_mut().enumerate() {
                            *a = $loadu(bias.add(g * UNITS));
                        }
                    }
                    let w_in = p.w_in.as_ptr().add(grp * io.ki * ROW);
                    reduce::<R, 4>(&mut acc, w_in, ROW, io.input, io.ki, r0);
                    if let Some(h) = io.h_prev {
                        let w_rec = p.w_rec.as_ptr().add(grp * io.hs * ROW);
                        reduce::<R, 4>(&mut acc, w_rec, ROW, h, io.hs, r0);
                    }
                    let first = io.h_prev.is_none();
                    for (rr, row) in acc.iter().enumerate() {
                        let off = (r0 + rr) * io.hs + grp * UNITS;
                        let i = sigmoid(row[0]);
                        let f = sigmoid(row[1]);
                        let g = tanh(row[2]);
                        let o = sigmoid(row[3]);
                        let ig = $mul(i, g);
                        let c_new = if first {
                            ig
                        } else {
                            $fmadd(f, $loadu(io.c.add(off)), ig)
                        };
                        $storeu(io.c.add(off), c_new);
                        $storeu(io.h_out.add(off), $mul(o, tanh(c_new)));
                    }
                }
            }

            /// `acc[r][c] += Σ_k a[r0 + r, k] · w[k · w_stride + c · UNITS ..]` over `k_n`
            /// reduction indices: `a` row-major with row length `k_n`; `w` a packed gate group
            /// (`C` = 4 gates, stride `ROW`) or `C` vectors of a row-major matrix's columns.
            #[target_feature(enable = $feat)]
            #[inline]
            unsafe fn reduce<const R: usize, const C: usize>(
                acc: &mut [[$v; C]; R],
                w: *const f32,
                w_stride: usize,
                a: *const f32,
                k_n: usize,
                r0: usize,
            ) {
                // SAFETY: the callers (`tile`, `mm_tile`) checked every index this reads.
                unsafe {
                    for k in 0..k_n {
                        let wk = w.add(k * w_stride);
                        let mut x = [$setzero(); R];
                        for (rr, v) in x.iter_mut().enumerate() {
                            *v = $set1(*a.add((r0 + rr) * k_n + k));
                        }
                        // One weight vector at a time: R broadcasts, 1 weight vector and the
                        // C·R accumulators are all the registers the loop needs.
                        for c in 0..C {
                            let b = $loadu(wk.add(c * UNITS));
                            for (row, &xr) in acc.iter_mut().zip(&x) {
                                row[c] = $fmadd(xr, b, row[c]);
                            }
                        }
                    }
                }
            }

            /// `out[r, ·] (+)= Σ_k a[r, k] · w[k, ·]` for `rows` rows: `a [rows, k_n]`, `w [k_n, n]`,
            /// `out [rows, n]`, all row-major, `n` a multiple of the vector width.
            #[target_feature(enable = $feat)]
            #[allow(clippy::too_many_arguments)]
            pub(super) unsafe fn rows_times(
                a: *const f32,
                rows: usize,
                k_n: usize,
                w: *const f32,
                n: usize,
                out: *mut f32,
                accumulate: bool,
            ) {
                let vecs = n / UNITS;
                let mut c0 = 0;
                while c0 + 4 <= vecs {
                    // SAFETY: columns c0..c0+4 vectors and every row are inside the buffers.
                    unsafe { rows_block::<4>(a, rows, k_n, w, n, out, accumulate, c0) };
                    c0 += 4;
                }
                while c0 < vecs {
                    // SAFETY: as above, one vector of columns at a time for the rest.
                    unsafe { rows_block::<1>(a, rows, k_n, w, n, out, accumulate, c0) };
                    c0 += 1;
                }
            }

            /// Every row × `C` vectors of columns from vector `c0`.
            #[target_feature(enable = $feat)]
            #[inline]
            #[allow(clippy::too_many_arguments)]
            unsafe fn rows_block<const C: usize>(
                a: *const f32,
                rows: usize,
                k_n: usize,
                w: *const f32,
                n: usize,
                out: *mut f32,
                accumulate: bool,
                c0: usize,
            ) {
                let mut r = 0;
                while r + $rows <= rows {
                    // SAFETY: rows r..r+$rows are inside the buffers (see `rows_times`).
                    unsafe { mm_tile::<$rows, C>(a, k_n, w, n, out, accumulate, r, c0) };
                    r += $rows;
                }
                while r < rows {
                    // SAFETY: as above, one row at a time for the rest.
                    unsafe { mm_tile::<1, C>(a, k_n, w, n, out, accumulate, r, c0) };
                    r += 1;
                }
            }

            /// `R` rows from `r0` × `C` vectors of columns from `c0`, accumulators in registers.
            #[target_feature(enable = $feat)]
            #[inline]
            #[allow(clippy::too_many_arguments)]
            unsafe fn mm_tile<const R: usize, const C: usize>(
                a: *const f32,
                k_n: usize,
                w: *const f32,
                n: usize,
                out: *mut f32,
                accumulate: bool,
                r0: usize,
                c0: usize,
            ) {
                // SAFETY (whole body): rows r0..r0+R and columns (c0..c0+C)·UNITS lie inside
                // `a`, `w` and `out`, as `rows_times`'s caller checked.
                unsafe {
                    let mut acc = [[$setzero(); C]; R];
                    if accumulate {
                        for (rr, row) in acc.iter_mut().enumerate() {
                            for (c, v) in row.iter_mut().enumerate() {
                                *v = $loadu(out.add((r0 + rr) * n + (c0 + c) * UNITS));
                            }
                        }
                    }
                    reduce::<R, C>(&mut acc, w.add(c0 * UNITS), n, a, k_n, r0);
                    for (rr, row) in acc.iter().enumerate() {
                        for (c, v) in row.iter().enumerate() {
                            $storeu(out.add((r0 + rr) * n + (c0 + c) * UNITS), *v);
                        }
                    }
                }
            }

            $($extra)*

            /// The vector form of `kernel::sigmoid`.
            #[target_feature(enable = $feat)]
            #[inline]
            fn sigmoid(x: $v) -> $v {
                let one = $set1(1.0);
                recip($add(one, exp($sub($setzero(), x))))
            }

            /// The vector form of `kernel::tanh`.
            #[target_feature(enable = $feat)]
            #[inline]
            fn tanh(x: $v) -> $v {
                let one = $set1(1.0);
                let two = $set1(2.0);
                $sub(one, $mul(two, recip($add(exp($mul(two, x)), one))))
            }
        }
    };
}

simd_kernel!(
    avx512,
    "avx512f,avx2,fma",
    16,
    4,
    __m512,
    _mm512_loadu_ps,
    _mm512_storeu_ps,
    _mm512_set1_ps,
    _mm512_setzero_ps,
    _mm512_fmadd_ps,
    _mm512_mul_ps,
    _mm512_add_ps,
    _mm512_sub_ps,
    extra: {
            /// The vector form of `kernel::fast_exp`: the same clamp and polynomial, with AVX-512's
            /// round-to-integer, fused range reduction and scale-by-power-of-two.
            #[target_feature(enable = "avx512f,avx2,fma")]
            #[inline]
            fn exp(x: __m512) -> __m512 {
                let x = _mm512_min_ps(
                    _mm512_max_ps(x, _mm512_set1_ps(-87.3)),
                    _mm512_set1_ps(87.3),
                );
                let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
                    _mm512_mul_ps(x, _mm512_set1_ps(std::f32::consts::LOG2_E)),
                );
                let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693_359_4), x);
                let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.121_944_4e-4), r);
                let mut p = _mm512_set1_ps(1.987_569_1e-4);
                p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.398_199_9e-3));
                p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.333_452e-3));
                p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.166_579_6e-2));
                p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.666_666_5e-1));
                p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5));
                let e = _mm512_add_ps(
                    _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r),
                    _mm512_set1_ps(1.0),
                );
                _mm512_scalef_ps(e, n)
            }

            /// `1/d`.
            #[target_feature(enable = "avx512f,avx2,fma")]
            #[inline]
            fn recip(d: __m512) -> __m512 {
                _mm512_div_ps(_mm512_set1_ps(1.0), d)
            }
    }
);

simd_kernel!(
    avx2,
    "avx2,fma",
    8,
    3,
    __m256,
    _mm256_loadu_ps,
    _mm256_storeu_ps,
    _mm256_set1_ps,
    _mm256_setzero_ps,
    _mm256_fmadd_ps,
    _mm256_mul_ps,
    _mm256_add_ps,
    _mm256_sub_ps,
    extra: {
            /// The vector form of `kernel::fast_exp` (same constants, same operation order).
            #[target_feature(enable = "avx2,fma")]
            #[inline]
            fn exp(x: __m256) -> __m256 {
                let x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3)), _mm256_set1_ps(87.3));
                let magic = _mm256_set1_ps(12_582_912.0);
                let t = _mm256_fmadd_ps(x, _mm256_set1_ps(std::f32::consts::LOG2_E), magic);
                let n = _mm256_sub_ps(t, magic);
                let r = _mm256_sub_ps(x, _mm256_mul_ps(n, _mm256_set1_ps(0.693_359_4)));
                let r = _mm256_sub_ps(r, _mm256_mul_ps(n, _mm256_set1_ps(-2.121_944_4e-4)));
                let mut p = _mm256_set1_ps(1.987_569_1e-4);
                p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.398_199_9e-3));
                p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.333_452e-3));
                p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.166_579_6e-2));
                p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.666_666_5e-1));
                p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5));
                let e = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), _mm256_set1_ps(1.0));
                let k = _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(0x4B40_0000));
                let scale = _mm256_slli_epi32::<23>(_mm256_add_epi32(k, _mm256_set1_epi32(127)));
                _mm256_mul_ps(e, _mm256_castsi256_ps(scale))
            }


            /// `1/d`.
            #[target_feature(enable = "avx2,fma")]
            #[inline]
            fn recip(d: __m256) -> __m256 {
                _mm256_div_ps(_mm256_set1_ps(1.0), d)
            }
    }
);
