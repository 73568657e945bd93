//! Windows, background and training mean of a saved model and a data table (feature `lstm`).

use std::sync::Arc;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use ts_data::{Frame, Series, WindowSpec, Windows, anchors_in};
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
    check_counts(n, background)?;
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
    let scaled = Arc::new(bundle.header.scaler.transform_series(
        f.values(),
        &idx,
        &spec.target_index,
    ));
    let recent = recent_windows(&f, spec, &scaled, n, output)?;
    let train = training_windows(bundle, &f, &scaled)?;
    let train_inputs = inputs_of("training windows", &train)?;
    let training_mean = train_inputs.mean_window("the training windows")?;
    let background = draw_background(&train_inputs, train.n, background, seed);
    Ok(ExplainSource {
        windows: recent.windows,
        labels: recent.labels,
        targets: recent.targets,
        background,
        training_mean,
        training_windows: train.n,
        feature_names: spec.features.clone(),
    })
}

/// Rejects zero explained or background windows.
fn check_counts(n: usize, background: usize) -> Result<()> {
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
    Ok(())
}

/// The explained windows with their labels and targets.
struct RecentWindows {
    /// The windows' inputs.
    windows: Inputs,
    /// The label of each window's last input row.
    labels: Vec<String>,
    /// Target of the explained output per window, when every window has one.
    targets: Option<Vec<f64>>,
}

/// The last `n` windows of `f` (scaled as `scaled`): the most recent ones with targets, then
/// the ones reaching past the end of the table when there are not enough.
fn recent_windows(
    f: &Frame,
    spec: &WindowSpec,
    scaled: &Arc<Series>,
    n: usize,
    output: usize,
) -> Result<RecentWindows> {
    let rows = f.n_rows();
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
    Ok(RecentWindows {
        windows,
        labels,
        targets,
    })
}

/// The windows of the training part of `f` (the rows before the validation part under the
/// model's split settings); an error when there is none.
fn training_windows(bundle: &Bundle, f: &Frame, scaled: &Arc<Series>) -> Result<Windows> {
    let spec = &bundle.header.spec;
    let bounds = bundle.config.data.split().bounds(f.n_rows());
    let train = Windows::over(
        scaled.clone(),
        spec,
        anchors_in(spec, 0, bounds.val_start),
        true,
    );
    if train.n == 0 {
        return Err(ExplainError::Empty(format!(
            "the background (drawn from the windows of the training part of {}, rows before {}, too few for one window of {} rows)",
            f.source.display(),
            bounds.val_start,
            spec.lookback + spec.horizon
        )));
    }
    Ok(train)
}

/// `background` of the `n` training windows, drawn without replacement (seeded), in order.
fn draw_background(train: &Inputs, n: usize, background: usize, seed: u64) -> Inputs {
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut StdRng::seed_from_u64(seed));
    idx.truncate(background);
    idx.sort_unstable();
    train.subset(&idx)
}

/// The inputs of a [`Windows`] set.
pub fn inputs_of(what: &str, w: &Windows) -> Result<Inputs> {
    Inputs::new(what, w.all_x(), w.n, w.lookback, w.n_features)
}
