//! The truncated normal distribution (log density, log mass and inverse CDF) that the Parzen
//! estimators of the TPE sampler are made of. Follows Optuna's `_truncnorm.py`: tails are handled
//! in log space so that kernels far from a bound stay exact.

use std::f64::consts::{LN_2, PI, SQRT_2};

/// `ln(sqrt(2π))`.
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// Standard normal CDF.
pub fn ndtr(x: f64) -> f64 {
    0.5 * libm::erfc(-x / SQRT_2)
}

/// `ln Φ(x)`, accurate in both tails.
pub fn log_ndtr(x: f64) -> f64 {
    if x > 6.0 {
        -ndtr(-x)
    } else if x > -20.0 {
        ndtr(x).ln()
    } else {
        // Asymptotic series of the Mills ratio.
        let x2 = x * x;
        let mut term = 1.0;
        let mut sum = 1.0;
        for k in 1..8 {
            term *= -((2 * k - 1) as f64) / x2;
            sum += term;
        }
        -0.5 * x2 - (-x).ln() - LN_SQRT_2PI + sum.ln()
    }
}

/// `ln(exp(a) - exp(b))` for `a ≥ b`.
fn log_diff(a: f64, b: f64) -> f64 {
    if b == f64::NEG_INFINITY {
        return a;
    }
    a + (-(b - a).exp_m1()).ln()
}

/// `ln(Φ(b) − Φ(a))` for `a < b`.
pub fn log_gauss_mass(a: f64, b: f64) -> f64 {
    if b <= 0.0 {
        log_diff(log_ndtr(b), log_ndtr(a))
    } else if a > 0.0 {
        log_gauss_mass(-b, -a)
    } else {
        (-ndtr(a) - ndtr(-b)).ln_1p()
    }
}

/// Inverse of the standard normal CDF (Acklam's approximation refined by one Halley step).
pub fn ndtri(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let pl = 0.02425;
    let x = if p < pl {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - pl {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    // One Halley step.
    let e = ndtr(x) - p;
    let u = e * (2.0 * PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

/// The `x` with `ln Φ(x) = y` (`y ≤ 0`), accurate when `Φ(x)` underflows.
pub fn ndtri_exp(y: f64) -> f64 {
    if y >= 0.0 {
        return f64::INFINITY;
    }
    let mut x = if y > -LN_2 {
        -ndtri(-y.exp_m1())
    } else if y > -700.0 {
        ndtri(y.exp())
    } else {
        -(-2.0 * y).sqrt()
    };
    // Newton steps on ln Φ(x) = y: d/dx ln Φ(x) = φ(x) / Φ(x).
    for _ in 0..if y > -700.0 { 1 } else { 30 } {
        let l = log_ndtr(x);
        let log_phi = -0.5 * x * x - LN_SQRT_2PI;
        let step = (l - y) * (l - log_phi).exp();
        if !step.is_finite() {
            break;
        }
        x -= step;
        if step.abs() < 1e-14 * x.abs().max(1.0) {
            break;
        }
    }
    x
}

/// Quantile `q ∈ [0, 1]` of the standard normal truncated to `[a, b]`.
pub fn ppf(q: f64, a: f64, b: f64) -> f64 {
    if q <= 0.0 {
        return a;
    }
    if q >= 1.0 {
        return b;
    }
    let log_mass = log_gauss_mass(a, b);
    let x = if a < 0.0 {
        let lp = log_add_exp(log_ndtr(a), q.ln() + log_mass);
        ndtri_exp(lp)
    } else {
        let lp = log_add_exp(log_ndtr(-b), (-q).ln_1p() + log_mass);
        -ndtri_exp(lp)
    };
    x.clamp(a, b)
}

fn log_add_exp(a: f64, b: f64) -> f64 {
    let m = a.max(b);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + ((a - m).exp() + (b - m).exp()).ln()
}

/// Log density at `x` of a normal(`mu`, `sigma`) truncated to `[low, high]`.
pub fn log_pdf(x: f64, mu: f64, sigma: f64, low: f64, high: f64) -> f64 {
    if x < low || x > high {
        return f64::NEG_INFINITY;
    }
    let z = (x - mu) / sigma;
    -0.5 * z * z
        - LN_SQRT_2PI
        - sigma.ln()
        - log_gauss_mass((low - mu) / sigma, (high - mu) / sigma)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndtri_inverts_ndtr() {
        for &x in &[-8.0, -3.0, -1.0, -0.1, 0.0, 0.5, 2.0, 5.0] {
            let p = ndtr(x);
            assert!((ndtri(p) - x).abs() < 1e-9, "{x}");
        }
        for &x in &[-40.0, -100.0] {
            let y = log_ndtr(x);
            assert!((ndtri_exp(y) - x).abs() < 1e-6, "{x}: {}", ndtri_exp(y));
        }
    }

    #[test]
    fn mass_is_exact_in_tails() {
        assert!((log_gauss_mass(-1.0, 1.0) - (0.682_689_492_137_085_9f64).ln()).abs() < 1e-12);
        let far = log_gauss_mass(30.0, 31.0);
        assert!(far.is_finite() && far < -400.0);
    }

    #[test]
    fn ppf_stays_inside_and_is_monotone() {
        let mut last = f64::NEG_INFINITY;
        for i in 0..=100 {
            let q = i as f64 / 100.0;
            let x = ppf(q, 2.0, 50.0);
            assert!((2.0..=50.0).contains(&x));
            assert!(x >= last);
            last = x;
        }
        let mid = ppf(0.5, -1.0, 1.0);
        assert!(mid.abs() < 1e-9);
    }
}
