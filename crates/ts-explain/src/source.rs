//! Windows, background and training mean of a saved model and a data table (feature `lstm`).

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use ts_data::{Frame, Windows, anchors_in};
use ts_train::Bundle;
use ts_train::pipeline::align_frame;

use crate::error::{ExplainError, Result, invalid};
use crate::model::Inputs;

/// What to explain, cut from a table with a saved model's scaler and window layout.
#[derive(Debug, Clone)]
pub struct ExplainSource {
    /// The explained windows: the last `n` windows of the table.
    pub windows: Inputs,
    /// Their rows' labels (time stamps of each window's last input row).
    pub labels: Vec<String>,
    /// Scaled target of the explained output per window, when every window has one.
    pub targets: Option<Vec<f64>>,
    /// Background windows drawn (without replacement, seeded) from the training windows.
    pub background: Inputs,
    /// Per-cell mean of all training windows.
    pub training_mean: Vec<f32>,
    /// Number of training windows.
    pub training_windows: usize,
    /// Feature names in model order.
    pub feature_names: Vec<String>,
}

/// Cuts the last `n` windows of `frame` (the most recent; windows whose targets lie past the end
/// of the table are included when there are not enough with targets), and `background` windows from
/// the training part (the rows before the validation part under the model's split settings).
pub fn explain_source(
    bundle: &Bundle,
    frame: &Frame,
    n: usize,
    background: usize,
    output: usize,
    seed: u64,
) -> Result<ExplainSource> {
    if n == 0 {
        return Err(invalid("windows", 0, "explain at least 1 window"));
    }
    if background == 0 {
        return Err(invalid(
            "background",
            0,
            "the background needs at least 1 window",
        ));
    }
    let f = align_frame(bundle, frame)?;
    let spec = &bundle.header.spec;
    let rows = f.n_rows();
    if rows < spec.lookback {
        return Err(ExplainError::InvalidSetting {
            name: "data".into(),
            value: format!("{} rows", rows),
            reason: format!(
                "{}: the model needs windows of {} rows",
                f.source.display(),
                spec.lookback
            ),
        });
    }
    let idx: Vec<usize> = (0..f.n_columns()).collect();
    let scaled = std::sync::Arc::new(bundle.header.scaler.transform_series(f.values(), &idx));
    // Every window with targets, plus the ones reaching past the end.
    let with_targets = anchors_in(spec, 0, rows);
    let first_future = with_targets.last().map_or(spec.lookback - 1, |a| a + 1);
    let future: Vec<usize> = (first_future.max(spec.lookback - 1)..rows).collect();
    let all_known = Windows::over(scaled.clone(), spec, with_targets.clone(), true);
    let take_known = n.min(all_known.n);
    let need_future = n - take_known;
    let mut labels = Vec::new();
    let mut data = Vec::new();
    let mut targets = Vec::new();
    let future_part: Vec<usize> = future
        .iter()
        .rev()
        .take(need_future)
        .rev()
        .copied()
        .collect();
    let known_idx: Vec<usize> = (all_known.n - take_known..all_known.n).collect();
    for &i in &known_idx {
        data.extend_from_slice(all_known.x_of(i));
        targets.push(f64::from(
            all_known.y_of(i)[output.min(all_known.n_outputs - 1)],
        ));
        labels.push(f.label(all_known.anchors[i]));
    }
    if !future_part.is_empty() {
        let fw = Windows::over(scaled.clone(), spec, future_part.clone(), false);
        for i in 0..fw.n {
            data.extend_from_slice(fw.x_of(i));
            labels.push(f.label(fw.anchors[i]));
        }
    }
    let count = labels.len();
    let windows = Inputs::new(
        "explained windows",
        data,
        count,
        spec.lookback,
        spec.features.len(),
    )?;
    let targets = (future_part.is_empty() && output < spec.n_outputs()).then_some(targets);
    // Training part under the model's split.
    let bounds = bundle.config.data.split().bounds(rows);
    let train = Windows::over(
        scaled.clone(),
        spec,
        anchors_in(spec, 0, bounds.val_start),
        true,
    );
    if train.n == 0 {
        return Err(ExplainError::Empty(format!(
            "the training part of {} (rows before {}), so the background",
            f.source.display(),
            bounds.val_start
        )));
    }
    let train_inputs = inputs_of("training windows", &train)?;
    let training_mean = train_inputs.mean_window("the training windows")?;
    let mut idx: Vec<usize> = (0..train.n).collect();
    idx.shuffle(&mut StdRng::seed_from_u64(seed));
    idx.truncate(background);
    idx.sort_unstable();
    let background = train_inputs.subset(&idx);
    Ok(ExplainSource {
        windows,
        labels,
        targets,
        background,
        training_mean,
        training_windows: train.n,
        feature_names: spec.features.clone(),
    })
}

/// The inputs of a [`Windows`] set.
pub fn inputs_of(what: &str, w: &Windows) -> Result<Inputs> {
    Inputs::new(what, w.all_x(), w.n, w.lookback, w.n_features)
}
