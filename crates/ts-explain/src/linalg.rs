//! Small dense linear algebra for the regression-based explainers (KernelSHAP, LIME).

/// Solves the weighted least-squares problem `min Σ_k w_k (y_k - a_k · β)² + ridge · |β|²` through
/// the normal equations and a Cholesky factorisation (f64). `rows` holds the `a_k`, each of length
/// `p`. Returns `None` when the system is singular (too few distinct rows and no ridge).
pub fn weighted_least_squares(
    rows: &[Vec<f64>],
    y: &[f64],
    w: &[f64],
    p: usize,
    ridge: f64,
) -> Option<Vec<f64>> {
    let mut a = vec![0.0f64; p * p];
    let mut b = vec![0.0f64; p];
    for ((r, &yk), &wk) in rows.iter().zip(y).zip(w) {
        for i in 0..p {
            let wi = wk * r[i];
            if wi == 0.0 {
                continue;
            }
            b[i] += wi * yk;
            for j in i..p {
                a[i * p + j] += wi * r[j];
            }
        }
    }
    for i in 0..p {
        a[i * p + i] += ridge;
        for j in 0..i {
            a[i * p + j] = a[j * p + i];
        }
    }
    cholesky_solve(&mut a, &mut b, p)?;
    Some(b)
}

/// Solves `A x = b` in place for a symmetric positive definite `A` (`p × p`, row-major); `b`
/// becomes `x`. `None` if `A` is not positive definite (relative to its diagonal).
pub fn cholesky_solve(a: &mut [f64], b: &mut [f64], p: usize) -> Option<()> {
    let scale = (0..p).map(|i| a[i * p + i].abs()).fold(0.0f64, f64::max);
    let tol = scale * 1e-13;
    for j in 0..p {
        let mut d = a[j * p + j];
        for k in 0..j {
            d -= a[j * p + k] * a[j * p + k];
        }
        if d.is_nan() || d <= tol {
            return None;
        }
        let d = d.sqrt();
        a[j * p + j] = d;
        for i in j + 1..p {
            let mut s = a[i * p + j];
            for k in 0..j {
                s -= a[i * p + k] * a[j * p + k];
            }
            a[i * p + j] = s / d;
        }
    }
    for i in 0..p {
        let mut s = b[i];
        for k in 0..i {
            s -= a[i * p + k] * b[k];
        }
        b[i] = s / a[i * p + i];
    }
    for i in (0..p).rev() {
        let mut s = b[i];
        for k in i + 1..p {
            s -= a[k * p + i] * b[k];
        }
        b[i] = s / a[i * p + i];
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_exact_linear_fit() {
        let beta = [1.5, -2.0, 0.25];
        let rows: Vec<Vec<f64>> = (0..20)
            .map(|k| {
                let k = k as f64;
                vec![1.0, (k * 0.37).sin(), (k * 1.3).cos()]
            })
            .collect();
        let y: Vec<f64> = rows
            .iter()
            .map(|r| r.iter().zip(&beta).map(|(a, b)| a * b).sum())
            .collect();
        let w: Vec<f64> = (0..20).map(|k| 0.5 + k as f64 / 20.0).collect();
        let got = weighted_least_squares(&rows, &y, &w, 3, 0.0).unwrap();
        for (g, b) in got.iter().zip(&beta) {
            assert!((g - b).abs() < 1e-12, "{g} vs {b}");
        }
        // Collinear columns without ridge: singular.
        let rows2: Vec<Vec<f64>> = rows.iter().map(|r| vec![r[1], 2.0 * r[1]]).collect();
        assert!(weighted_least_squares(&rows2, &y, &w, 2, 0.0).is_none());
        assert!(weighted_least_squares(&rows2, &y, &w, 2, 1e-3).is_some());
    }
}
