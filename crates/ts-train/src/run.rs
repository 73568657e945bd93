//! The front door of training: a [`Trainer`] built from a [`ForecastConfig`] with builder methods
//! (observer, checkpoints, resume) fits a frame into a [`FitOutcome`], which writes its run
//! ([`FitOutcome::write_run`]) or its model file ([`FitOutcome::save`]); a saved model loads as a
//! [`Bundle`] that evaluates and predicts ([`Bundle::evaluate`], [`Bundle::predict`],
//! [`Bundle::predict_future`]). The crate documentation opens with an example.

use std::path::{Path, PathBuf};

use ts_data::{Frame, Prepared};

use crate::checkpoint::{FileCheckpointer, Resume};
use crate::config::ForecastConfig;
use crate::error::{Result, TrainError};
use crate::pipeline::{
    self, Bundle, DataSummary, FitOutcome, FrameEvaluation, Part, PredictionRow, RunRecord,
};
use crate::report::MetricsReport;
use crate::trainer::{Observer, Silent, TrainReport};

/// Fits forecasters: `Trainer::new(config)`, optionally `.observer(…)`, `.checkpoint(…)`,
/// `.resume(…)`, `.sample_weights(…)`, then [`Trainer::fit`] (or [`Trainer::prepare`] and [`Trainer::fit_prepared`]).
pub struct Trainer<'a> {
    config: ForecastConfig,
    observer: Option<&'a mut dyn Observer>,
    checkpoint: Option<(PathBuf, usize)>,
    resume: Option<Resume>,
}

impl std::fmt::Debug for Trainer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("config", &self.config)
            .field("checkpoint", &self.checkpoint)
            .field("resume", &self.resume.is_some())
            .finish()
    }
}

impl<'a> Trainer<'a> {
    /// A trainer for a configuration (checked when fitting).
    pub fn new(config: ForecastConfig) -> Self {
        Self {
            config,
            observer: None,
            checkpoint: None,
            resume: None,
        }
    }

    /// Receives progress (epochs, batches) and can stop training ([`Observer`]).
    pub fn observer(mut self, observer: &'a mut dyn Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Writes a checkpoint to `path` every `every` epochs (0: only when interrupted).
    pub fn checkpoint(mut self, path: impl Into<PathBuf>, every: usize) -> Self {
        self.checkpoint = Some((path.into(), every));
        self
    }

    /// Continues from a checkpoint ([`crate::checkpoint::load`]) with bit-identical results; the
    /// data must be those it was trained on.
    pub fn resume(mut self, resume: Resume) -> Self {
        self.resume = Some(resume);
        self
    }

    /// Weighs each training window's loss (one non-negative weight per training window, in
    /// window order; normalised to mean 1), as the fairness reductions retrain.
    pub fn sample_weights(mut self, weights: Vec<f32>) -> Self {
        self.config.train.sample_weights = Some(std::sync::Arc::new(weights));
        self
    }

    /// The configuration.
    pub fn config(&self) -> &ForecastConfig {
        &self.config
    }

    /// Splits, scales and windows a frame for this configuration. The frame's values become the
    /// scaled series (held once); its time labels, column names and row count stay, the two
    /// calendar columns appended when the configuration gives the network calendar inputs
    /// ([`pipeline::calendar_frame`]).
    pub fn prepare(&self, frame: &mut Frame) -> Result<Prepared> {
        pipeline::prepare_frame_owned(frame, &self.config)
    }

    /// Prepares and fits a frame ([`Trainer::prepare`], [`Trainer::fit_prepared`]).
    pub fn fit(self, frame: &mut Frame) -> Result<FitOutcome> {
        let prepared = self.prepare(frame)?;
        self.fit_prepared(frame, prepared)
    }

    /// Fits prepared data: trains the candidate networks, keeps the best, calibrates the
    /// intervals and evaluates on the test part.
    pub fn fit_prepared(self, frame: &Frame, prepared: Prepared) -> Result<FitOutcome> {
        let Self {
            config,
            observer,
            checkpoint,
            resume,
        } = self;
        let fingerprint = pipeline::data_fingerprint(frame, &prepared);
        if let Some(r) = &resume
            && !pipeline::fingerprints_match(&r.meta.data_fingerprint, &fingerprint)
        {
            return Err(TrainError::Checkpoint {
                path: checkpoint.as_ref().map(|c| c.0.clone()).unwrap_or_default(),
                message: format!(
                    "{}: the data differ from those the checkpoint was trained on (rows, columns, dates or training values changed)",
                    frame.source.display()
                ),
            });
        }
        let device = ts_model::make_device(config.device)?;
        let mut silent = Silent;
        let observer: &mut dyn Observer = match observer {
            Some(o) => o,
            None => &mut silent,
        };
        // The checkpoint names the data file by its absolute path, so that `tsf train --resume`
        // finds it from any folder.
        let mut stored = config.clone();
        if let Some(abs) = stored
            .data
            .path
            .as_ref()
            .and_then(|p| p.canonicalize().ok())
        {
            stored.data.path = Some(abs);
        }
        let mut ck = checkpoint.map(|(path, every)| FileCheckpointer {
            path,
            every,
            config: stored,
            data_fingerprint: fingerprint,
            written: 0,
        });
        pipeline::train_prepared_with(
            frame,
            prepared,
            &config,
            &device,
            observer,
            resume,
            ck.as_mut()
                .map(|c| c as &mut dyn crate::checkpoint::Checkpointer),
        )
    }
}

impl FitOutcome {
    /// Saves the model file (weights, scaler, architecture, training configuration), atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        pipeline::save_model(path, self)
    }

    /// The test forecasts as rows in original units (with actuals, naive forecasts and interval
    /// bounds), one at a time.
    pub fn test_rows<'a>(&'a self, frame: &'a Frame) -> impl Iterator<Item = PredictionRow> + 'a {
        let p = &self.prepared;
        pipeline::prediction_rows_iter(
            frame,
            &p.spec,
            &p.scaler,
            &p.test,
            &self.test_predictions,
            self.intervals.as_ref().map(|iv| {
                iv.walk(&p.test, &self.test_predictions, &p.spec, &p.scaler, 0)
                    .windows
            }),
            self.season,
        )
    }

    /// The levels of the prediction intervals (empty without).
    pub fn interval_levels(&self) -> Vec<f64> {
        self.intervals
            .as_ref()
            .map_or_else(Vec::new, |iv| iv.levels.clone())
    }

    /// Writes the run's files into `dir`: `model.tsf`, `metrics.json` ([`MetricsReport`]),
    /// `history.json` ([`TrainReport`]) and `predictions.csv` (the test forecasts, written row by
    /// row), each atomically.
    pub fn write_run(&self, frame: &Frame, dir: &Path) -> Result<()> {
        self.save(&dir.join("model.tsf"))?;
        write_json(&dir.join("metrics.json"), &MetricsReport::of_fit(self))?;
        write_json(&dir.join("history.json"), &self.report)?;
        let levels = self.interval_levels();
        ts_model::file::write_atomic_with(&dir.join("predictions.csv"), |w| {
            pipeline::write_predictions_csv(w, self.test_rows(frame), &levels)
        })?;
        Ok(())
    }

    /// Each target's one-step-ahead test forecasts with their time labels (for charts), and the
    /// training history; the prepared data and the windows are let go first.
    pub fn into_chart_series(
        self,
        frame: &Frame,
    ) -> (
        TrainReport,
        ForecastConfig,
        Vec<(String, pipeline::TargetSeries)>,
    ) {
        let mut series: Vec<(String, pipeline::TargetSeries)> = self
            .prepared
            .spec
            .targets
            .iter()
            .map(|t| {
                let mut s = pipeline::TargetSeries::default();
                for r in self
                    .test_rows(frame)
                    .filter(|r| r.target == *t && r.step == 1)
                {
                    s.push(&r);
                }
                (t.clone(), s)
            })
            .collect();
        let label_rows: Vec<usize> = self.prepared.test.anchors.iter().map(|a| a + 1).collect();
        let FitOutcome { report, config, .. } = self;
        for (_, s) in &mut series {
            s.timestamps = label_rows.iter().map(|&r| frame.label(r)).collect();
        }
        (report, config, series)
    }
}

/// Writes a value as pretty JSON, atomically.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| TrainError::Output {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(ts_model::file::write_atomic(path, text.as_bytes())?)
}

impl Bundle {
    /// Loads a model file ([`pipeline::load_model`]).
    pub fn load(path: &Path) -> Result<Self> {
        pipeline::load_model(path)
    }

    /// Loads the model's columns of a data file (with the time column it was trained with). A
    /// file lacking one is read whole, so that the error says what the model was trained on and
    /// what the file has.
    pub fn load_data(&self, data: &Path, fill: ts_data::FillPolicy) -> Result<Frame> {
        // (The calendar inputs are rebuilt from the dates, not read: see `table_columns`.)
        let options = |columns| ts_data::LoadOptions {
            time_column: self.config.data.time_column.clone(),
            columns,
            fill,
        };
        let frame = match ts_data::load(data, &options(Some(self.table_columns()))) {
            Err(ts_data::DataError::ColumnNotFound { .. }) => ts_data::load(data, &options(None))?,
            r => r?,
        };
        self.check_spacing(data, &frame)?;
        Ok(frame)
    }

    /// Refuses a table whose rows are spaced unlike the training table's (quarterly rows for a
    /// monthly model, say): the model's windows, season and horizon count rows, so they would
    /// stand for other spans of time. The training table's spacing is its mean step (the model
    /// file records its first and last time stamps and its rows), so a table of weekdays or
    /// with a few gaps is not mistaken for another spacing: only a factor of two or more counts.
    fn check_spacing(&self, data: &Path, frame: &Frame) -> Result<()> {
        let Some(trained) = RunRecord::field::<DataSummary>(&self.header.extra, "data") else {
            return Ok(());
        };
        let (Some(start), Some(end)) = (
            ts_data::parse_time(&trained.start),
            ts_data::parse_time(&trained.end),
        ) else {
            return Ok(());
        };
        let Some(step) = ts_data::median_date_step(frame) else {
            return Ok(());
        };
        if trained.rows < 2 {
            return Ok(());
        }
        let mean = (end - start).num_seconds() as f64 / (trained.rows - 1) as f64;
        let ratio = step / mean;
        if mean > 0.0 && !(1.0 / 1.9..=1.9).contains(&ratio) {
            return Err(TrainError::InvalidConfig {
                name: "data".into(),
                value: data.display().to_string(),
                reason: format!(
                    "its rows are {} apart, but the model was trained on rows {} apart ({}); its \
                     windows, season and horizon count rows, so they would stand for other spans \
                     of time: give a table with the training table's spacing",
                    ts_data::step_in_words(step),
                    ts_data::step_in_words(mean),
                    trained.source
                ),
            });
        }
        Ok(())
    }

    /// Scores the windows of one part of a table ([`pipeline::evaluate_frame_part`]).
    pub fn evaluate(&self, frame: &Frame, part: Part) -> Result<FrameEvaluation> {
        pipeline::evaluate_frame_part(self, frame, part)
    }

    /// Forecasts every window of a table, past its end included ([`pipeline::predict_frame`]).
    pub fn predict(&self, frame: &Frame) -> Result<Vec<PredictionRow>> {
        pipeline::predict_frame(self, frame)
    }

    /// Forecasts only the steps after the table's last row ([`pipeline::predict_future`]).
    pub fn predict_future(&self, frame: &Frame) -> Result<Vec<PredictionRow>> {
        pipeline::predict_future(self, frame)
    }

    /// The levels of the model's prediction intervals (empty without).
    pub fn interval_levels(&self) -> Vec<f64> {
        self.intervals().map_or_else(Vec::new, |iv| iv.levels)
    }
}
