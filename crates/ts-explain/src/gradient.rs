//! Gradient methods: saliency, input × gradient, integrated gradients, SmoothGrad.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::{Result, invalid};
use crate::model::{Attributions, ExplainModel, Inputs, Runner};

/// Raw gradients d output / d input (Captum's `Saliency` with `abs=False`).
pub fn saliency<M: ExplainModel + ?Sized>(r: &Runner<M>, x: &Inputs) -> Result<Attributions> {
    r.check("explained windows", x)?;
    let g = r.gradients(&x.data, x.n)?;
    Ok(Attributions {
        n: x.n,
        steps: x.steps,
        features: x.features,
        values: g.into_iter().map(f64::from).collect(),
    })
}

/// Input × gradient (Captum's `InputXGradient`).
pub fn input_x_gradient<M: ExplainModel + ?Sized>(
    r: &Runner<M>,
    x: &Inputs,
) -> Result<Attributions> {
    let mut a = saliency(r, x)?;
    for (v, xi) in a.values.iter_mut().zip(&x.data) {
        *v *= f64::from(*xi);
    }
    Ok(a)
}

/// Where the integration path of integrated gradients starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Baseline {
    /// All zeros in scaled space.
    Zeros,
    /// One window `[steps × features]` for every explained window (e.g. the per-cell training mean).
    Window(Vec<f32>),
}

impl Baseline {
    /// The baseline window for inputs of `cells` cells.
    pub fn window(&self, cells: usize) -> Result<Vec<f32>> {
        match self {
            Self::Zeros => Ok(vec![0.0; cells]),
            Self::Window(w) if w.len() == cells => {
                if let Some(k) = w.iter().position(|v| !v.is_finite()) {
                    return Err(invalid(
                        "baseline",
                        w[k],
                        &format!("cell {k} is not finite"),
                    ));
                }
                Ok(w.clone())
            }
            Self::Window(w) => Err(invalid(
                "baseline",
                format!("{} values", w.len()),
                &format!("a baseline window needs {cells} values (steps × features)"),
            )),
        }
    }
}

/// Quadrature rule of integrated gradients, with Captum's conventions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum IgRule {
    /// Gauss–Legendre nodes and weights mapped to [0, 1] (Captum's default).
    #[default]
    #[serde(rename = "gausslegendre")]
    #[cfg_attr(feature = "clap", value(name = "gausslegendre", aliases = ["gauss_legendre", "gauss-legendre", "gl"]))]
    GaussLegendre,
    /// `alpha_k = k/(n-1)`, weights `1/n` with halved end weights (Captum's `riemann_trapezoid`;
    /// the weights sum to `(n-1)/n`).
    #[cfg_attr(feature = "clap", value(name = "riemann_trapezoid", aliases = ["riemann-trapezoid", "trapezoid"]))]
    RiemannTrapezoid,
    /// Left Riemann sum: `alpha_k = k/n`, weights `1/n`.
    #[cfg_attr(feature = "clap", value(name = "riemann_left", aliases = ["riemann-left", "left"]))]
    RiemannLeft,
    /// Right Riemann sum: `alpha_k = (k+1)/n`.
    #[cfg_attr(feature = "clap", value(name = "riemann_right", aliases = ["riemann-right", "right"]))]
    RiemannRight,
    /// Midpoint rule: `alpha_k = (k+1/2)/n`.
    #[cfg_attr(feature = "clap", value(name = "riemann_middle", aliases = ["riemann-middle", "middle"]))]
    RiemannMiddle,
}

impl std::str::FromStr for IgRule {
    type Err = crate::ExplainError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().replace('-', "_").as_str() {
            "gausslegendre" | "gauss_legendre" | "gl" => Ok(Self::GaussLegendre),
            "riemann_trapezoid" | "trapezoid" => Ok(Self::RiemannTrapezoid),
            "riemann_left" | "left" => Ok(Self::RiemannLeft),
            "riemann_right" | "right" => Ok(Self::RiemannRight),
            "riemann_middle" | "middle" => Ok(Self::RiemannMiddle),
            _ => Err(invalid(
                "integration rule",
                s,
                "expected gausslegendre, riemann_trapezoid, riemann_left, riemann_right or riemann_middle",
            )),
        }
    }
}

/// Nodes `t_k` and weights `u_k` of `n`-point Gauss–Legendre quadrature on [-1, 1], ascending,
/// by Newton's method on the Legendre polynomial (accurate to a few ulps in f64).
pub fn gauss_legendre(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut t = vec![0.0; n];
    let mut u = vec![0.0; n];
    let m = n.div_ceil(2);
    for i in 0..m {
        // Initial guess (Tricomi), then Newton.
        let mut z = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut dp = 0.0;
        for _ in 0..100 {
            let (mut p0, mut p1) = (1.0f64, z);
            for k in 2..=n {
                let p2 = ((2 * k - 1) as f64 * z * p1 - (k - 1) as f64 * p0) / k as f64;
                p0 = p1;
                p1 = p2;
            }
            let pn = if n == 1 { z } else { p1 };
            let pm1 = if n == 1 { 1.0 } else { p0 };
            dp = n as f64 * (z * pn - pm1) / (z * z - 1.0);
            let dz = pn / dp;
            z -= dz;
            if dz.abs() < 1e-16 {
                break;
            }
        }
        // Recompute the derivative at the converged root.
        let (mut p0, mut p1) = (1.0f64, z);
        for k in 2..=n {
            let p2 = ((2 * k - 1) as f64 * z * p1 - (k - 1) as f64 * p0) / k as f64;
            p0 = p1;
            p1 = p2;
        }
        if n > 1 {
            dp = n as f64 * (z * p1 - p0) / (z * z - 1.0);
        }
        let w = 2.0 / ((1.0 - z * z) * dp * dp);
        t[i] = -z;
        t[n - 1 - i] = z;
        u[i] = w;
        u[n - 1 - i] = w;
    }
    if n % 2 == 1 {
        t[n / 2] = 0.0;
    }
    // Normalise the weights to sum to exactly 2, like numpy's `leggauss` (which Captum uses).
    let sum: f64 = u.iter().sum();
    for w in &mut u {
        *w *= 2.0 / sum;
    }
    (t, u)
}

/// Path points `alpha_k` in [0, 1] and weights `w_k` of a rule with `n` steps.
pub fn ig_alphas(rule: IgRule, n: usize) -> Result<(Vec<f64>, Vec<f64>)> {
    if n == 0 {
        return Err(invalid("ig steps", 0, "at least 1 step"));
    }
    let nf = n as f64;
    Ok(match rule {
        IgRule::GaussLegendre => {
            let (t, u) = gauss_legendre(n);
            (
                t.iter().map(|t| (1.0 + t) / 2.0).collect(),
                u.iter().map(|u| u / 2.0).collect(),
            )
        }
        IgRule::RiemannTrapezoid => {
            if n < 2 {
                return Err(invalid(
                    "ig steps",
                    n,
                    "the trapezoid rule needs at least 2 steps",
                ));
            }
            let a = (0..n).map(|k| k as f64 / (nf - 1.0)).collect();
            let mut w = vec![1.0 / nf; n];
            w[0] = 0.5 / nf;
            w[n - 1] = 0.5 / nf;
            (a, w)
        }
        IgRule::RiemannLeft => ((0..n).map(|k| k as f64 / nf).collect(), vec![1.0 / nf; n]),
        IgRule::RiemannRight => (
            (0..n).map(|k| (k as f64 + 1.0) / nf).collect(),
            vec![1.0 / nf; n],
        ),
        IgRule::RiemannMiddle => (
            (0..n).map(|k| (k as f64 + 0.5) / nf).collect(),
            vec![1.0 / nf; n],
        ),
    })
}

/// Settings of integrated gradients.
#[derive(Debug, Clone, PartialEq)]
pub struct IgSettings {
    /// Path start.
    pub baseline: Baseline,
    /// Number of path points.
    pub steps: usize,
    /// Quadrature rule.
    pub rule: IgRule,
}

impl Default for IgSettings {
    fn default() -> Self {
        Self {
            baseline: Baseline::Zeros,
            steps: 64,
            rule: IgRule::GaussLegendre,
        }
    }
}

/// Integrated gradients with the completeness gap of each window.
#[derive(Debug, Clone, PartialEq)]
pub struct IgResult {
    /// `(x - baseline) · Σ_k w_k ∇f(baseline + alpha_k (x - baseline))`.
    pub attributions: Attributions,
    /// Per window: `Σ attributions - (f(x) - f(baseline))` (Captum's convergence delta).
    pub delta: Vec<f64>,
    /// `f(x)` per window.
    pub f_x: Vec<f64>,
    /// `f(baseline)`.
    pub f_baseline: f64,
}

/// Integrated gradients. All path points of all windows go through the model in large batches.
pub fn integrated_gradients<M: ExplainModel + ?Sized>(
    r: &Runner<M>,
    x: &Inputs,
    s: &IgSettings,
) -> Result<IgResult> {
    r.check("explained windows", x)?;
    let (alphas, weights) = ig_alphas(s.rule, s.steps)?;
    let c = x.cells();
    let base = s.baseline.window(c)?;
    let k = alphas.len();
    let mut acc = vec![0.0f64; x.n * c];
    // Windows per chunk so that one chunk holds about `grad_batch` path points.
    let per_chunk = (r.grad_batch / k).max(1);
    let mut start = 0;
    while start < x.n {
        let end = (start + per_chunk).min(x.n);
        let mut pts = Vec::with_capacity((end - start) * k * c);
        for w in start..end {
            let xw = x.window(w);
            for &a in &alphas {
                let a = a as f32;
                pts.extend(xw.iter().zip(&base).map(|(xv, bv)| bv + a * (xv - bv)));
            }
        }
        let g = r.gradients(&pts, (end - start) * k)?;
        for w in start..end {
            let out = &mut acc[w * c..(w + 1) * c];
            for (j, &wk) in weights.iter().enumerate() {
                let gk = &g[((w - start) * k + j) * c..((w - start) * k + j + 1) * c];
                for (o, gv) in out.iter_mut().zip(gk) {
                    *o += wk * f64::from(*gv);
                }
            }
        }
        start = end;
    }
    for w in 0..x.n {
        let xw = x.window(w);
        for (i, o) in acc[w * c..(w + 1) * c].iter_mut().enumerate() {
            *o *= f64::from(xw[i]) - f64::from(base[i]);
        }
    }
    let attributions = Attributions {
        n: x.n,
        steps: x.steps,
        features: x.features,
        values: acc,
    };
    let f_x = r.predict_inputs(x)?;
    let f_baseline = r.predict(&base, 1)?[0];
    let delta = (0..x.n)
        .map(|w| attributions.window_sum(w) - (f_x[w] - f_baseline))
        .collect();
    Ok(IgResult {
        attributions,
        delta,
        f_x,
        f_baseline,
    })
}

/// Which SmoothGrad statistic is the attribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum SmoothGradVariant {
    /// Mean of the noisy gradients.
    #[default]
    #[serde(rename = "smoothgrad")]
    #[cfg_attr(feature = "clap", value(name = "smoothgrad", aliases = ["mean"]))]
    SmoothGrad,
    /// Mean of the squared noisy gradients.
    #[serde(rename = "smoothgrad_sq")]
    #[cfg_attr(feature = "clap", value(name = "smoothgrad_sq", aliases = ["smoothgrad-sq", "sq", "squared"]))]
    SmoothGradSq,
    /// Variance of the noisy gradients (VarGrad).
    #[serde(rename = "vargrad")]
    #[cfg_attr(feature = "clap", value(name = "vargrad", aliases = ["var", "variance"]))]
    VarGrad,
}

impl std::str::FromStr for SmoothGradVariant {
    type Err = crate::ExplainError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().replace('-', "_").as_str() {
            "smoothgrad" | "mean" => Ok(Self::SmoothGrad),
            "smoothgrad_sq" | "sq" | "squared" => Ok(Self::SmoothGradSq),
            "vargrad" | "var" | "variance" => Ok(Self::VarGrad),
            _ => Err(invalid(
                "smoothgrad variant",
                s,
                "expected smoothgrad, smoothgrad_sq or vargrad",
            )),
        }
    }
}

/// Settings of SmoothGrad.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SmoothGradSettings {
    /// Standard deviation of the Gaussian noise, in scaled units (Captum's `stdevs`).
    pub noise: f64,
    /// Noisy samples per window.
    pub samples: usize,
    /// Which statistic is reported as the attribution.
    pub variant: SmoothGradVariant,
    /// Seed of the noise.
    pub seed: u64,
}

impl Default for SmoothGradSettings {
    fn default() -> Self {
        Self {
            noise: 0.1,
            samples: 32,
            variant: SmoothGradVariant::SmoothGrad,
            seed: 0,
        }
    }
}

/// The three SmoothGrad statistics of the same noisy gradients.
#[derive(Debug, Clone, PartialEq)]
pub struct SmoothGradResult {
    /// The chosen variant.
    pub attributions: Attributions,
    /// Mean gradient.
    pub mean: Attributions,
    /// Mean squared gradient.
    pub mean_sq: Attributions,
    /// Gradient variance (population, over the samples).
    pub variance: Attributions,
}

/// Standard normal draws by Box–Muller (deterministic for a seed).
pub(crate) fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// SmoothGrad: gradients at `x + N(0, noise²)`, `samples` per window, all in large batches.
pub fn smoothgrad<M: ExplainModel + ?Sized>(
    r: &Runner<M>,
    x: &Inputs,
    s: &SmoothGradSettings,
) -> Result<SmoothGradResult> {
    r.check("explained windows", x)?;
    if s.samples == 0 {
        return Err(invalid("smoothgrad samples", 0, "at least 1 sample"));
    }
    if !(s.noise.is_finite() && s.noise >= 0.0) {
        return Err(invalid(
            "smoothgrad noise",
            s.noise,
            "must be a finite value >= 0",
        ));
    }
    let c = x.cells();
    let k = s.samples;
    let mut rng = StdRng::seed_from_u64(s.seed);
    let mut sum = vec![0.0f64; x.n * c];
    let mut sum_sq = vec![0.0f64; x.n * c];
    let per_chunk = (r.grad_batch / k).max(1);
    let mut start = 0;
    while start < x.n {
        let end = (start + per_chunk).min(x.n);
        let mut pts = Vec::with_capacity((end - start) * k * c);
        for w in start..end {
            let xw = x.window(w);
            for _ in 0..k {
                pts.extend(
                    xw.iter()
                        .map(|v| (f64::from(*v) + s.noise * normal(&mut rng)) as f32),
                );
            }
        }
        let g = r.gradients(&pts, (end - start) * k)?;
        for w in start..end {
            for j in 0..k {
                let gk = &g[((w - start) * k + j) * c..((w - start) * k + j + 1) * c];
                for (i, gv) in gk.iter().enumerate() {
                    let gv = f64::from(*gv);
                    sum[w * c + i] += gv;
                    sum_sq[w * c + i] += gv * gv;
                }
            }
        }
        start = end;
    }
    let kf = k as f64;
    let shape = |values| Attributions {
        n: x.n,
        steps: x.steps,
        features: x.features,
        values,
    };
    let mean: Vec<f64> = sum.iter().map(|v| v / kf).collect();
    let mean_sq: Vec<f64> = sum_sq.iter().map(|v| v / kf).collect();
    let variance: Vec<f64> = mean
        .iter()
        .zip(&mean_sq)
        .map(|(m, q)| (q - m * m).max(0.0))
        .collect();
    let (mean, mean_sq, variance) = (shape(mean), shape(mean_sq), shape(variance));
    let attributions = match s.variant {
        SmoothGradVariant::SmoothGrad => mean.clone(),
        SmoothGradVariant::SmoothGradSq => mean_sq.clone(),
        SmoothGradVariant::VarGrad => variance.clone(),
    };
    Ok(SmoothGradResult {
        attributions,
        mean,
        mean_sq,
        variance,
    })
}
