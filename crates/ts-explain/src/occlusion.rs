//! Occlusion (replace cells, time steps or features by a baseline and watch the output) and
//! permutation importance (shuffle a feature or time step across windows and watch the error).

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::error::{ExplainError, Result, invalid};
use crate::model::{Attributions, ExplainModel, Inputs, Runner};

/// Occlusion effects `f(x) - f(x with the part replaced by the baseline)`.
#[derive(Debug, Clone, PartialEq)]
pub struct OcclusionResult {
    /// One cell at a time, `[n, steps, features]`.
    pub attributions: Attributions,
    /// One time step (all features) at a time, `[n][steps]`.
    pub by_step: Vec<Vec<f64>>,
    /// One feature (all time steps) at a time, `[n][features]`.
    pub by_feature: Vec<Vec<f64>>,
}

/// Occludes every cell, every time step and every feature of every window (one batched pass).
/// `baseline` is one window `[steps × features]` (e.g. the training mean).
pub fn occlusion<M: ExplainModel + ?Sized>(
    r: &Runner<M>,
    x: &Inputs,
    baseline: &[f32],
) -> Result<OcclusionResult> {
    r.check("explained windows", x)?;
    let (t, f) = (x.steps, x.features);
    let c = x.cells();
    if baseline.len() != c {
        return Err(invalid(
            "occlusion baseline",
            format!("{} values", baseline.len()),
            &format!("needs {c} values (steps × features)"),
        ));
    }
    // Masks: every cell, then every step, then every feature.
    let mut masks: Vec<Vec<bool>> = Vec::with_capacity(c + t + f);
    for i in 0..c {
        masks.push((0..c).map(|j| j == i).collect());
    }
    for s in 0..t {
        masks.push((0..c).map(|j| j / f == s).collect());
    }
    for g in 0..f {
        masks.push((0..c).map(|j| j % f == g).collect());
    }
    let k = masks.len();
    let mut pts = Vec::with_capacity(x.n * k * c);
    for w in 0..x.n {
        let xw = x.window(w);
        for m in &masks {
            pts.extend(
                m.iter()
                    .zip(xw.iter().zip(baseline))
                    .map(|(&o, (xv, bv))| if o { *bv } else { *xv }),
            );
        }
    }
    let fo = r.predict(&pts, x.n * k)?;
    let fx = r.predict_inputs(x)?;
    let mut attributions = Attributions::zeros(x.n, t, f);
    let mut by_step = Vec::with_capacity(x.n);
    let mut by_feature = Vec::with_capacity(x.n);
    for w in 0..x.n {
        let row = &fo[w * k..(w + 1) * k];
        for (a, r) in attributions.values[w * c..(w + 1) * c].iter_mut().zip(row) {
            *a = fx[w] - r;
        }
        by_step.push((0..t).map(|s| fx[w] - row[c + s]).collect());
        by_feature.push((0..f).map(|g| fx[w] - row[c + t + g]).collect());
    }
    Ok(OcclusionResult {
        attributions,
        by_step,
        by_feature,
    })
}

/// Permutation importance of each feature and each time step over a set of windows.
#[derive(Debug, Clone, PartialEq)]
pub struct PermutationResult {
    /// What the score measures: `"mse_increase"` (with targets) or `"mean_abs_change"`.
    pub score: String,
    /// Score with the unpermuted windows (the MSE, or 0).
    pub reference: f64,
    /// Per feature: mean over repeats of the score increase.
    pub by_feature: Vec<f64>,
    /// Per time step.
    pub by_step: Vec<f64>,
}

/// Shuffles one feature (all its time steps together) or one time step (all its features together)
/// across the windows, `repeats` times, and measures the increase of the squared error against
/// `targets` (the explained output of each window, scaled) or, without targets, the mean
/// |change| of the output.
pub fn permutation_importance<M: ExplainModel + ?Sized>(
    r: &Runner<M>,
    x: &Inputs,
    targets: Option<&[f64]>,
    repeats: usize,
    seed: u64,
) -> Result<PermutationResult> {
    r.check("explained windows", x)?;
    check_permutation(x, targets, repeats)?;
    let fx = r.predict_inputs(x)?;
    let score = |pred: &[f64]| permutation_score(pred, targets, &fx, x.n);
    let reference = score(&fx);
    let groups = permutation_groups(x.steps, x.features);
    let pts = permuted_windows(x, &groups, repeats, seed);
    let fp = r.predict(&pts, groups.len() * repeats * x.n)?;
    let mut imp = Vec::with_capacity(groups.len());
    for gi in 0..groups.len() {
        let mut acc = 0.0;
        for rep in 0..repeats {
            let off = (gi * repeats + rep) * x.n;
            acc += score(&fp[off..off + x.n]) - reference;
        }
        imp.push(acc / repeats as f64);
    }
    let by_step = imp.split_off(x.features);
    Ok(PermutationResult {
        score: if targets.is_some() {
            "mse_increase".into()
        } else {
            "mean_abs_change".into()
        },
        reference,
        by_feature: imp,
        by_step,
    })
}

/// Rejects zero repeats, fewer than 2 windows and targets that are not one per window.
fn check_permutation(x: &Inputs, targets: Option<&[f64]>, repeats: usize) -> Result<()> {
    if repeats == 0 {
        return Err(invalid("permutation repeats", 0, "at least 1"));
    }
    if x.n < 2 {
        return Err(ExplainError::InvalidSetting {
            name: "windows".into(),
            value: x.n.to_string(),
            reason: "permutation importance (reported with occlusion, one of the default methods) shuffles features across windows and needs at least 2: give --windows 2 or more, or leave occlusion out of --methods".into(),
        });
    }
    if let Some(y) = targets
        && y.len() != x.n
    {
        return Err(invalid(
            "permutation targets",
            y.len(),
            &format!("need one target per window ({})", x.n),
        ));
    }
    Ok(())
}

/// The score of the `n` outputs `pred`: their MSE against `targets`, or without targets their
/// mean |change| from the unpermuted outputs `fx`.
fn permutation_score(pred: &[f64], targets: Option<&[f64]>, fx: &[f64], n: usize) -> f64 {
    match targets {
        Some(y) => {
            pred.iter()
                .zip(y)
                .map(|(p, a)| (p - a).powi(2))
                .sum::<f64>()
                / n as f64
        }
        None => pred.iter().zip(fx).map(|(p, a)| (p - a).abs()).sum::<f64>() / n as f64,
    }
}

/// The permuted groups of cells of a `t` × `f` window: each feature, then each time step.
fn permutation_groups(t: usize, f: usize) -> Vec<Vec<usize>> {
    (0..f)
        .map(|g| (0..t).map(|s| s * f + g).collect())
        .chain((0..t).map(|s| (0..f).map(|g| s * f + g).collect()))
        .collect()
}

/// The windows of `x` with each group's cells taken from a shuffled window, `repeats` shuffles
/// per group (seeded), laid end to end group by group.
fn permuted_windows(x: &Inputs, groups: &[Vec<usize>], repeats: usize, seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut pts = Vec::with_capacity(groups.len() * repeats * x.n * x.cells());
    for cells in groups {
        for _ in 0..repeats {
            let mut perm: Vec<usize> = (0..x.n).collect();
            perm.shuffle(&mut rng);
            for (w, &p) in perm.iter().enumerate() {
                let mut win = x.window(w).to_vec();
                let src = x.window(p);
                for &i in cells {
                    win[i] = src[i];
                }
                pts.extend(win);
            }
        }
    }
    pts
}
