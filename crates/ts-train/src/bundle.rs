//! A saved model ([`Bundle`]): loading it, aligning a table to its columns, scoring a part of
//! the table, forecasting every window and the steps past the table's end.

use std::path::Path;
use std::sync::Arc;

use burn::tensor::Device;
use chrono::{Datelike, Months, NaiveDateTime};
use serde::{Deserialize, Serialize};
use ts_data::{DataError, Frame, Windows, anchors_in, parse_time};
use ts_model::file::{self, ModelHeader};
use ts_model::{Forecaster, make_device};

use crate::config::{ForecastConfig, ModelChoice};
use crate::error::{Result, TrainError};
use crate::fit::RunRecord;
use crate::intervals::{Coverage, Intervals, WindowBounds};
use crate::metrics::{BaselineSpec, Evaluation, evaluate};

use crate::predictions::*;

/// A loaded model file with its typed configuration.
#[derive(Debug)]
pub struct Bundle {
    /// Header.
    pub header: ModelHeader,
    /// Network.
    pub model: Forecaster,
    /// Configuration it was trained with.
    pub config: ForecastConfig,
    /// Device it lives on.
    pub device: Device,
}

impl Bundle {
    /// The seasonal period the model was trained with (1 = none, also for files from before
    /// seasons were recorded).
    pub fn season(&self) -> usize {
        RunRecord::field::<usize>(&self.header.extra, "season").map_or(1, |m| m.max(1))
    }

    /// The split the model was trained with (`None` in files without one).
    pub fn split(&self) -> Option<ts_data::SplitBounds> {
        RunRecord::field(&self.header.extra, "split")
    }

    /// The columns the network reads that a table must hold: its inputs without the calendar
    /// columns, which [`align_frame`] rebuilds from the table's dates.
    pub fn table_columns(&self) -> Vec<String> {
        self.header
            .spec
            .features
            .iter()
            .filter(|c| !ts_data::calendar::is_calendar_column(c))
            .cloned()
            .collect()
    }

    /// Whether the network reads calendar inputs ([`ts_data::calendar`]).
    pub fn reads_calendar(&self) -> bool {
        ts_data::calendar::reads_calendar(&self.header.spec.features)
    }

    /// The declared value range of each target (`data.bounds`; open in files without one).
    ///
    /// # Errors
    /// A range named for a column that is not one of the model's targets.
    pub fn ranges(&self) -> Result<Vec<crate::range::ValueRange>> {
        crate::range::per_target(&self.config.data.bounds, &self.header.spec.targets)
    }

    /// The network's scaled forecasts of `windows`, clipped to the targets' declared ranges.
    ///
    /// # Errors
    /// As [`crate::trainer::predict_scaled`].
    pub fn forecast(&self, windows: &Windows) -> Result<Vec<f32>> {
        crate::range::forecast_scaled(
            &self.model,
            windows,
            &self.device,
            &self.ranges()?,
            &self.header.spec,
            &self.header.scaler,
        )
    }

    /// The prediction intervals calibrated when the model was trained, if any.
    pub fn intervals(&self) -> Option<Intervals> {
        RunRecord::field(&self.header.extra, "intervals")
    }

    /// The training configuration with the model choice fixed to this file's network (so that a
    /// retrain, e.g. a fairness reduction, fits the same architecture rather than a fresh `auto`
    /// choice).
    pub fn retrain_config(&self) -> ForecastConfig {
        let mut c = self.config.clone();
        c.model.kind = ModelChoice::of_network(&self.model.config);
        c.data.sequence_length = Some(self.header.spec.lookback);
        c.data.season = Some(self.season());
        c.model.lstm_window = Some(self.model.config.lstm_window);
        if !self.model.config.linear {
            c.model.lstm_inputs = if self.model.config.input_norm {
                crate::config::LstmInputs::Relative
            } else {
                crate::config::LstmInputs::Levels
            };
        }
        c.data.calendar = if self.reads_calendar() {
            crate::config::CalendarMode::On
        } else {
            crate::config::CalendarMode::Off
        };
        c
    }

    /// Baselines for a table of `rows` rows scored with this model: its season, and MASE's scale
    /// from the rows the model was trained on (its recorded split), or from every row when the
    /// table is shorter.
    pub fn baseline_spec(&self, rows: usize) -> BaselineSpec {
        let train_end = self.split().map_or(rows, |s| s.val_start);
        BaselineSpec {
            season: self.season(),
            history_end: train_end.min(rows),
        }
    }
}

/// Loads a model file.
pub fn load_model(path: &Path) -> Result<Bundle> {
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ts_model::ModelError::NotFound {
            path: path.to_path_buf(),
        },
        _ => ts_model::ModelError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        },
    })?;
    let (header, weights) = file::parse(path, &bytes)?;
    let config: ForecastConfig =
        serde_json::from_value(header.train_config.clone()).map_err(|e| {
            ts_model::ModelError::Header {
                path: path.to_path_buf(),
                message: format!("training config: {e}"),
            }
        })?;
    let device =
        make_device(config.device).or_else(|_| make_device(ts_model::DeviceChoice::Cpu))?;
    let model = file::load_weights(path, &header.model, weights, &device)?;
    let bundle = Bundle {
        header,
        model,
        config,
        device,
    };
    // Intervals recorded in the file must fit the model (a hand-edited file would otherwise
    // fail when they are used).
    if bundle
        .header
        .extra
        .get("intervals")
        .is_some_and(|v| !v.is_null())
    {
        let spec = &bundle.header.spec;
        let checked = match bundle.intervals() {
            Some(iv) => iv.check(spec.n_outputs(), spec.targets.len()),
            None => Err("the intervals cannot be read".into()),
        };
        if let Err(message) = checked {
            return Err(ts_model::ModelError::Header {
                path: path.to_path_buf(),
                message,
            }
            .into());
        }
    }
    Ok(bundle)
}

/// Checks that a frame has the columns a model was trained with and returns them in model order.
pub fn align_frame(bundle: &Bundle, frame: &Frame) -> Result<Frame> {
    let need = &bundle.header.spec.features;
    // A network that reads calendar inputs gets them from the table's time stamps.
    let with;
    let frame = if bundle.reads_calendar() && !ts_data::calendar::reads_calendar(&frame.columns) {
        with = ts_data::calendar::with_calendar(frame, bundle.season())?;
        &with
    } else {
        frame
    };
    let missing: Vec<&String> = need.iter().filter(|c| !frame.columns.contains(c)).collect();
    if !missing.is_empty() {
        return Err(DataError::SchemaMismatch {
            path: frame.source.clone(),
            message: format!(
                "missing {}; the model was trained on [{}], the file has [{}]",
                missing
                    .iter()
                    .map(|m| format!("{m:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                need.join(", "),
                frame.columns.join(", ")
            ),
        }
        .into());
    }
    Ok(frame.select(need)?)
}

/// Evaluation of a saved model on a whole table (every window with known targets).
#[derive(Debug, Clone)]
pub struct FrameEvaluation {
    /// Metrics.
    pub evaluation: Evaluation,
    /// The windows.
    pub windows: Windows,
    /// Scaled forecasts.
    pub predictions: Vec<f32>,
    /// Coverage of the model's prediction intervals on these windows.
    pub coverage: Vec<Coverage>,
}

/// The model's columns of a table and their scaled values, after checking that the table has at
/// least `min_rows` rows (`what` says why, for the error).
fn scaled_input(
    bundle: &Bundle,
    frame: &Frame,
    min_rows: usize,
    what: &str,
) -> Result<(Frame, Arc<ts_data::Series>)> {
    let f = align_frame(bundle, frame)?;
    let n = f.n_rows();
    if n < min_rows {
        return Err(DataError::TooFewRows {
            what: f.source.display().to_string(),
            rows: n,
            needed: format!("at least {what} rows"),
        }
        .into());
    }
    crate::range::check_frame(&f, &bundle.header.spec.targets, &bundle.ranges()?)?;
    let idx: Vec<usize> = (0..f.n_columns()).collect();
    let scaled = Arc::new(bundle.header.scaler.transform_series(
        f.values(),
        &idx,
        &bundle.header.spec.target_index,
    ));
    Ok((f, scaled))
}

/// Which windows of a table an evaluation scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    /// Windows whose targets lie in the training rows.
    Train,
    /// Windows whose targets lie in the validation rows.
    Validation,
    /// Windows whose targets lie in the test rows (the default: the rows the model never saw).
    #[default]
    Test,
    /// Every window with known targets.
    All,
}

impl std::str::FromStr for Part {
    type Err = TrainError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "train" | "training" => Ok(Self::Train),
            "validation" | "val" => Ok(Self::Validation),
            "test" => Ok(Self::Test),
            "all" => Ok(Self::All),
            _ => Err(crate::error::invalid(
                "part",
                s,
                "expected test, validation, train or all",
            )),
        }
    }
}

impl Part {
    /// The name reports print.
    pub fn name(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Validation => "validation",
            Self::Test => "test",
            Self::All => "all",
        }
    }
}

impl Bundle {
    /// The rows `[from, to)` whose windows make up `part` of a table of `rows` rows: the split the
    /// model was trained with when the table has as many rows as its training data, else the
    /// configured fractions applied to this table.
    pub fn part_rows(&self, part: Part, rows: usize) -> (usize, usize) {
        let recorded = self.split().map(|s| (s.val_start, s.test_start, s.n_rows));
        let (val_start, test_start) = match recorded {
            Some((v, t, n)) if n == rows => (v, t),
            _ => {
                let b = self.config.data.split().bounds(rows);
                (b.val_start, b.test_start)
            }
        };
        match part {
            Part::Train => (0, val_start),
            Part::Validation => (val_start, test_start),
            Part::Test => (test_start, rows),
            Part::All => (0, rows),
        }
    }
}

/// Evaluates a saved model on every window of a table ([`evaluate_frame_part`] with
/// [`Part::All`]).
pub fn evaluate_frame(bundle: &Bundle, frame: &Frame) -> Result<FrameEvaluation> {
    evaluate_frame_part(bundle, frame, Part::All)
}

/// The first of `windows` (in time order, over a table of `n` rows) whose targets lie in the
/// test part: adaptive intervals walk from there, as they did when the model was trained.
fn first_test_window(bundle: &Bundle, windows: &Windows, n: usize) -> usize {
    let test_start = bundle.part_rows(Part::Test, n).0;
    windows.anchors.partition_point(|&a| a + 1 < test_start)
}

/// Evaluates a saved model on the windows of one part of a table (see [`Bundle::part_rows`]).
///
/// # Errors
/// A table without the model's columns, too short for one window, or whose part holds no window.
pub fn evaluate_frame_part(bundle: &Bundle, frame: &Frame, part: Part) -> Result<FrameEvaluation> {
    let spec = &bundle.header.spec;
    let (f, scaled) = scaled_input(
        bundle,
        frame,
        spec.lookback + spec.horizon,
        &format!(
            "sequence length {} + horizon {}",
            spec.lookback, spec.horizon
        ),
    )?;
    let n = f.n_rows();
    let (from, to) = bundle.part_rows(part, n);
    if part == Part::Validation && bundle.config.data.validation == 0.0 {
        return Err(crate::error::invalid(
            "part",
            "validation",
            "the model was trained without a validation part (--validation 0); choose --part test, train or all",
        ));
    }
    let anchors = anchors_in(spec, from, to);
    if anchors.is_empty() {
        return Err(DataError::TooFewRows {
            what: f.source.display().to_string(),
            rows: n,
            needed: format!(
                "a {} part (rows {from}..{to}) that holds at least one window of sequence length {} + horizon {}",
                part.name(),
                spec.lookback,
                spec.horizon
            ),
        }
        .into());
    }
    let windows = Windows::over(scaled, spec, anchors, true);
    let predictions = bundle.forecast(&windows)?;
    let evaluation = evaluate(
        &windows,
        &predictions,
        spec,
        &bundle.header.scaler,
        &bundle.baseline_spec(n),
    );
    let first_test = first_test_window(bundle, &windows, n);
    let coverage = bundle.intervals().map_or_else(Vec::new, |iv| {
        iv.coverage_from(
            &windows,
            &predictions,
            spec,
            &bundle.header.scaler,
            first_test,
        )
    });
    Ok(FrameEvaluation {
        evaluation,
        windows,
        predictions,
        coverage,
    })
}

/// How many of the last gaps of the time index [`future_label`] reads the spacing from.
const SPACING_GAPS: usize = 24;

/// Whether `d` is the last day of its month.
fn is_month_end(d: &NaiveDateTime) -> bool {
    d.date().succ_opt().is_some_and(|n| n.month() != d.month())
}

/// The whole number of months from `a` to `b` when both sit at the same place of their months
/// (the same day and time, or both the month's last day at the same time), else `None`.
fn whole_months(a: &NaiveDateTime, b: &NaiveDateTime) -> Option<u32> {
    let months = (b.year() - a.year()) * 12 + b.month() as i32 - a.month() as i32;
    let aligned = a.day() == b.day() || (is_month_end(a) && is_month_end(b));
    (months > 0 && aligned && a.time() == b.time()).then_some(months as u32)
}

/// Mean length of a month in days.
const MONTH_DAYS: f64 = 365.2425 / 12.0;

/// The date `k` steps after the last of `d` for a table that steps by whole calendar months but
/// not always to the same day (the last business day of each month; the 30th, with February's
/// last day): each gap spans a whole number of months within four days of their mean length, at
/// the same time of day. The step is the median number of months; the day is the month's last
/// or first weekday when every date is one, else the most common day of the month (cut to the
/// month's length). `None` for any other spacing.
fn calendar_months_ahead(d: &[NaiveDateTime], k: usize) -> Option<NaiveDateTime> {
    use chrono::{NaiveDate, Weekday};
    let month_of = |x: &NaiveDateTime| x.year() * 12 + x.month0() as i32;
    let mut steps = Vec::with_capacity(d.len());
    for w in d.windows(2) {
        let m = month_of(&w[1]) - month_of(&w[0]);
        let days = (w[1] - w[0]).num_seconds() as f64 / 86_400.0;
        if m <= 0 || w[0].time() != w[1].time() || (days - f64::from(m) * MONTH_DAYS).abs() > 4.0 {
            return None;
        }
        steps.push(m as u32);
    }
    let last = *d.last()?;
    let ahead = Months::new(median_of(steps).checked_mul(u32::try_from(k).ok()?)?);
    let first = last.date().with_day(1)?.checked_add_months(ahead)?;
    let month_end = first.checked_add_months(Months::new(1))?.pred_opt()?;
    let weekday = |x: NaiveDate| !matches!(x.weekday(), Weekday::Sat | Weekday::Sun);
    let last_weekday = |x: NaiveDate| {
        let mut e = x
            .with_day(1)?
            .checked_add_months(Months::new(1))?
            .pred_opt()?;
        while !weekday(e) {
            e = e.pred_opt()?;
        }
        Some(e)
    };
    let first_weekday = |x: NaiveDate| {
        let mut b = x.with_day(1)?;
        while !weekday(b) {
            b = b.succ_opt()?;
        }
        Some(b)
    };
    let day = if d.iter().all(|x| last_weekday(x.date()) == Some(x.date())) {
        last_weekday(first)?
    } else if d.iter().all(|x| first_weekday(x.date()) == Some(x.date())) {
        first_weekday(first)?
    } else {
        let mut days: Vec<u32> = d.iter().map(|x| x.day()).collect();
        days.sort_unstable();
        let mode = days
            .chunk_by(|a, b| a == b)
            .max_by_key(|run| (run.len(), run[0]))
            .map(|run| run[0])?;
        first.with_day(mode.min(month_end.day()))?
    };
    Some(day.and_time(last.time()))
}

/// The median of a non-empty list (the lower middle one).
fn median_of<T: Copy + PartialOrd>(mut v: Vec<T>) -> T {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v[(v.len() - 1) / 2]
}

/// Label of the `k`-th row after the last one, extrapolating the time index's spacing: the
/// median of its last `SPACING_GAPS` (24) gaps (so one missing row does not set it), in whole months
/// for month-aligned dates (the same day of the month, or month ends: 2019-12-31 is followed by
/// 2020-03-31 in a quarterly table of quarter ends).
pub fn future_label(frame: &Frame, k: usize) -> String {
    let n = frame.n_rows();
    let Some(t) = &frame.time else {
        return format!("#{}", n - 1 + k);
    };
    if n < 2 {
        return format!("{}+{k}", t.label(n - 1));
    }
    let from = n.saturating_sub(SPACING_GAPS + 1);
    let b = t.label(n - 1);
    let dates: Option<Vec<NaiveDateTime>> = (from..n).map(|r| parse_time(&t.label(r))).collect();
    match dates {
        Some(d) if b.contains('-') => {
            let last = d[d.len() - 1];
            let months: Option<Vec<u32>> =
                d.windows(2).map(|w| whole_months(&w[0], &w[1])).collect();
            let next: Option<NaiveDateTime> = match months {
                Some(m) => {
                    let ahead = Months::new(median_of(m) * k as u32);
                    if d.iter().all(is_month_end) {
                        // The last day of the month `ahead` months on.
                        last.date()
                            .with_day(1)
                            .and_then(|first| first.checked_add_months(ahead))
                            .and_then(|first| first.checked_add_months(Months::new(1)))
                            .and_then(|next_first| next_first.pred_opt())
                            .map(|day| day.and_time(last.time()))
                    } else {
                        last.checked_add_months(ahead)
                    }
                }
                None => calendar_months_ahead(&d, k).or_else(|| {
                    let gap = median_of(d.windows(2).map(|w| w[1] - w[0]).collect());
                    i32::try_from(k)
                        .ok()
                        .and_then(|k| last.checked_add_signed(gap * k))
                }),
            };
            next.map(|d| ts_data::time_label(&d, t.has_clock_times()))
                .unwrap_or_else(|| format!("{b}+{k}"))
        }
        _ => {
            let keys = &t.keys()[from..n];
            let gap = median_of(keys.windows(2).map(|w| w[1] - w[0]).collect());
            format!("{}", keys[keys.len() - 1] + gap * k as f64)
        }
    }
}

/// Forecasts from every window of a table, including the windows that reach past its end.
pub fn predict_frame(bundle: &Bundle, frame: &Frame) -> Result<Vec<PredictionRow>> {
    let spec = &bundle.header.spec;
    let (f, scaled) = scaled_input(
        bundle,
        frame,
        spec.lookback,
        &format!("sequence length {}", spec.lookback),
    )?;
    let n = f.n_rows();
    let known = anchors_in(spec, 0, n);
    let future: Vec<usize> = (known.last().map_or(spec.lookback - 1, |l| l + 1)..n).collect();
    let wk = Windows::over(scaled.clone(), spec, known, true);
    let wf = Windows::over(scaled, spec, future, false);
    let pk = bundle.forecast(&wk)?;
    let pf = bundle.forecast(&wf)?;
    let scaler = &bundle.header.scaler;
    let first_test = first_test_window(bundle, &wk, n);
    let (known_bounds, future_bounds) = match bundle.intervals() {
        Some(iv) => {
            let w = iv.walk(&wk, &pk, spec, scaler, first_test);
            let future = iv.after_bounds(&w, &wf, &pf, spec, scaler);
            (Some(w.windows), Some(future))
        }
        None => (None, None),
    };
    let season = bundle.season();
    let mut rows = prediction_rows(&f, spec, scaler, &wk, &pk, known_bounds, season);
    let first_future = rows.len();
    rows.extend(prediction_rows(
        &f,
        spec,
        scaler,
        &wf,
        &pf,
        future_bounds,
        season,
    ));
    // Windows that reach past the end still have actuals for their steps inside the table.
    let nt = spec.targets.len();
    for (i, &a) in wf.anchors.iter().enumerate() {
        for s in 0..spec.horizon {
            let row = a + s + 1;
            if row >= n {
                continue;
            }
            for k in 0..nt {
                let r = &mut rows[first_future + (i * spec.horizon + s) * nt + k];
                let col = spec.target_index[k];
                r.actual = Some(f.value(row, col));
            }
        }
    }
    Ok(rows)
}

/// The forecast past the end of a table: the window ending at its last row, every horizon step
/// (all of them beyond the data).
pub fn predict_future(bundle: &Bundle, frame: &Frame) -> Result<Vec<PredictionRow>> {
    let spec = &bundle.header.spec;
    let (f, scaled) = scaled_input(
        bundle,
        frame,
        spec.lookback,
        &format!("sequence length {}", spec.lookback),
    )?;
    let n = f.n_rows();
    let scaler = &bundle.header.scaler;
    let w = Windows::over(scaled.clone(), spec, vec![n - 1], false);
    let p = bundle.forecast(&w)?;
    let bounds = match bundle.intervals() {
        // Adaptive intervals: the state after the test part's actuals.
        Some(iv) if iv.is_adaptive() => {
            let test_start = bundle.part_rows(Part::Test, n).0;
            let wt = Windows::over(scaled, spec, anchors_in(spec, test_start, n), true);
            let pt = bundle.forecast(&wt)?;
            Some(iv.after_bounds(&iv.walk(&wt, &pt, spec, scaler, 0), &w, &p, spec, scaler))
        }
        Some(iv) => Some(WindowBounds::repeat(&iv.half_width, 1).with_ranges(&iv.ranges)),
        None => None,
    };
    Ok(prediction_rows(
        &f,
        spec,
        scaler,
        &w,
        &p,
        bounds,
        bundle.season(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_of(labels: &[&str]) -> Frame {
        let keys: Vec<f64> = labels
            .iter()
            .map(|l| {
                parse_time(l).map_or_else(|| l.parse().unwrap(), |d| d.and_utc().timestamp() as f64)
            })
            .collect();
        let time = ts_data::TimeIndex::new("date", labels, keys).unwrap();
        let values = vec![(0..labels.len()).map(|i| i as f64).collect()];
        Frame::from_columns("mem", vec!["y".into()], values, Some(time)).unwrap()
    }

    /// Future rows continue the table's spacing: month ends stay month ends, the same day of the
    /// month stays, and one missing row does not set the step (the median gap does).
    #[test]
    fn future_labels_continue_the_spacing() {
        let quarter_ends = frame_of(&["2019-03-31", "2019-06-30", "2019-09-30", "2019-12-31"]);
        let next: Vec<String> = (1..=3).map(|k| future_label(&quarter_ends, k)).collect();
        assert_eq!(next, ["2020-03-31", "2020-06-30", "2020-09-30"]);
        let month_ends = frame_of(&["1994-03-31", "1994-04-30", "1994-05-31"]);
        assert_eq!(future_label(&month_ends, 1), "1994-06-30");
        assert_eq!(future_label(&month_ends, 3), "1994-08-31");
        let firsts = frame_of(&["1994-04-01", "1994-05-01", "1994-06-01", "1994-08-01"]);
        assert_eq!(future_label(&firsts, 1), "1994-09-01");
        let days = frame_of(&["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-05"]);
        assert_eq!(future_label(&days, 2), "2020-01-07");
        let hours = frame_of(&["2020-01-01 00:00:00", "2020-01-01 01:00:00"]);
        assert_eq!(future_label(&hours, 1), "2020-01-01 02:00:00");
        // Midnight keeps its time in an hourly table.
        let evening = frame_of(&["2020-01-01 22:00:00", "2020-01-01 23:00:00"]);
        assert_eq!(future_label(&evening, 1), "2020-01-02 00:00:00");
        // Calendar months that do not keep one day: business month ends (2024-03-29 is a
        // Friday; April's last weekday is Tuesday the 30th, June's Friday the 28th), the 30th
        // with February's last day, business quarter ends.
        let business = frame_of(&["2023-12-29", "2024-01-31", "2024-02-29", "2024-03-29"]);
        let next: Vec<String> = (1..=3).map(|k| future_label(&business, k)).collect();
        assert_eq!(next, ["2024-04-30", "2024-05-31", "2024-06-28"]);
        let thirtieths = frame_of(&["2023-12-30", "2024-01-30", "2024-02-29", "2024-03-30"]);
        assert_eq!(future_label(&thirtieths, 1), "2024-04-30");
        assert_eq!(future_label(&thirtieths, 11), "2025-02-28");
        let quarters = frame_of(&["2009-03-31", "2009-06-30", "2009-09-30", "2009-12-31"]);
        assert_eq!(future_label(&quarters, 1), "2010-03-31");
        let bq = frame_of(&["2008-12-31", "2009-03-31", "2009-06-30", "2009-09-30"]);
        assert_eq!(future_label(&bq, 1), "2009-12-31");
        let bq = frame_of(&["2011-12-30", "2012-03-30", "2012-06-29", "2012-09-28"]);
        assert_eq!(future_label(&bq, 1), "2012-12-31");
        // Weekly and 35-day steps are not months.
        let weeks = frame_of(&["2024-01-05", "2024-01-12", "2024-01-19"]);
        assert_eq!(future_label(&weeks, 1), "2024-01-26");
        let five_weeks = frame_of(&["2024-01-05", "2024-02-09", "2024-03-15"]);
        assert_eq!(future_label(&five_weeks, 1), "2024-04-19");
    }
}
