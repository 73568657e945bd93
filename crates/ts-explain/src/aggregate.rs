//! Aggregates over windows: temporal importance, per-feature and per-time-step importance, and rank
//! correlation between methods.

use serde::{Deserialize, Serialize};

use crate::model::Attributions;

/// Importance summaries of one method's attributions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Importance {
    /// Mean |attribution| over windows, `[steps][features]`.
    pub temporal: Vec<Vec<f64>>,
    /// Per feature: the sum over time steps of `temporal`.
    pub by_feature: Vec<f64>,
    /// Per time step: the sum over features of `temporal`.
    pub by_step: Vec<f64>,
}

impl Importance {
    /// Summarises attributions `[n, steps, features]`.
    pub fn of(a: &Attributions) -> Self {
        let mut temporal = vec![vec![0.0f64; a.features]; a.steps];
        for w in 0..a.n {
            for (t, row) in temporal.iter_mut().enumerate() {
                for (f, v) in row.iter_mut().enumerate() {
                    *v += a.get(w, t, f).abs();
                }
            }
        }
        let n = a.n.max(1) as f64;
        for row in &mut temporal {
            for v in row.iter_mut() {
                *v /= n;
            }
        }
        let by_feature = (0..a.features)
            .map(|f| temporal.iter().map(|r| r[f]).sum())
            .collect();
        let by_step = temporal.iter().map(|r| r.iter().sum()).collect();
        Self {
            temporal,
            by_feature,
            by_step,
        }
    }

    /// `by_feature` as shares of its total (all zeros stay zeros).
    pub fn feature_shares(&self) -> Vec<f64> {
        shares(&self.by_feature)
    }
}

/// Values divided by their sum (zeros when the sum is 0).
pub fn shares(v: &[f64]) -> Vec<f64> {
    let s: f64 = v.iter().sum();
    v.iter()
        .map(|x| if s > 0.0 { x / s } else { 0.0 })
        .collect()
}

/// Average ranks (1-based, ties share their mean rank).
pub fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// Spearman's rank correlation (Pearson correlation of average ranks); `None` when either side is
/// constant or the lengths differ or are below 2.
pub fn spearman(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() != b.len() || a.len() < 2 {
        return None;
    }
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let mut sab = 0.0;
    let mut saa = 0.0;
    let mut sbb = 0.0;
    for (x, y) in ra.iter().zip(&rb) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    (saa > 0.0 && sbb > 0.0).then(|| sab / (saa * sbb).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_and_ranks() {
        assert_eq!(ranks(&[3.0, 1.0, 2.0, 2.0]), vec![4.0, 1.0, 2.5, 2.5]);
        assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]).unwrap() - 1.0).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]).unwrap() + 1.0).abs() < 1e-12);
        assert!(spearman(&[1.0, 1.0], &[1.0, 2.0]).is_none());
        // scipy.stats.spearmanr([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) = 0.8207826816681233
        let r = spearman(&[1.0, 2.0, 3.0, 4.0, 5.0], &[5.0, 6.0, 7.0, 8.0, 7.0]).unwrap();
        assert!((r - 0.8207826816681233).abs() < 1e-12, "{r}");
    }

    #[test]
    fn importance_is_mean_abs() {
        let a = Attributions {
            n: 2,
            steps: 2,
            features: 2,
            values: vec![1.0, -2.0, 0.0, 4.0, -3.0, 2.0, 2.0, 0.0],
        };
        let i = Importance::of(&a);
        assert_eq!(i.temporal, vec![vec![2.0, 2.0], vec![1.0, 2.0]]);
        assert_eq!(i.by_feature, vec![3.0, 4.0]);
        assert_eq!(i.by_step, vec![4.0, 3.0]);
    }
}
