//! Charts for the `tsf` time-series forecasting toolkit.
//!
//! `ts-viz` draws plain report structs as charts; it knows nothing about
//! training or models. Callers fill a [`HistoryChart`] or
//! [`PredictionChart`] and call one of four functions:
//!
//! | function | chart |
//! |---|---|
//! | [`training_history`] | train (and validation) loss per epoch, legend, vertical marker at the best epoch; log-scale y axis when the losses span more than two decades |
//! | [`predictions_vs_actuals`] | actual vs predicted (and the dashed baselines: naive grey, seasonal naive green, drift purple) over time, beside a predicted-vs-actual scatter with the `y = x` line |
//! | [`residuals`] | residuals `actual - predicted` over time with a zero line, beside their histogram (caption: mean and sd) |
//! | [`multivariate_predictions`] | one actual-vs-predicted panel per target in a grid of up to 3 columns ([`MAX_PANELS`] at most), shared legend |
//!
//! Each returns the [`Written`] paths or a [`VizError`].
//!
//! # Example
//!
//! ```
//! use ts_viz::{HistoryChart, training_history};
//!
//! let chart = HistoryChart {
//!     title: "LSTM on ETTh1".into(),
//!     train_loss: vec![1.0, 0.4, 0.2, 0.15],
//!     validation_loss: vec![1.1, 0.5, 0.3, 0.32],
//!     best_epoch: Some(3),
//!     loss_name: "MSE".into(),
//! };
//! let dir = std::env::temp_dir().join(format!("ts-viz-doc-{}", std::process::id()));
//! let written = training_history(&chart, &dir, "history")?;
//! assert!(written.png.exists() && written.svg.exists());
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), ts_viz::VizError>(())
//! ```
//!
//! # Output files
//!
//! Every chart is written twice into `out_dir` (created if missing):
//!
//! * `<stem>.png`: 3000×1800 px, i.e. a 10×6 inch figure at **300 dpi**. The
//!   image is rendered into an RGB buffer with plotters' `BitMapBackend` and
//!   encoded with the `png` crate, which also writes a `pHYs` chunk of 11811
//!   pixels per metre (= 300 dpi) so viewers and word processors size it
//!   correctly.
//! * `<stem>.svg`: 1000×600 user units, for scalable documents and the web.
//!
//! All sizes (fonts, line widths, margins, markers) are defined for the
//! 1000 px canvas and multiplied by `width / 1000` (3 for the PNG), so the
//! PNG looks like the SVG. Each file is first written to `<stem>.png.tmp` /
//! `<stem>.svg.tmp` and then renamed, so a reader never sees half a file.
//!
//! # Font
//!
//! Plotters' system-font (`ttf`) support is not used: text is rendered with
//! `ab_glyph` from an embedded copy of DejaVu Sans (`assets/DejaVuSans.ttf`,
//! Bitstream Vera / DejaVu licence, see `assets/FONT_LICENSE.md`). It is
//! registered once per process as plotters' `sans-serif` family, so the PNGs
//! look the same on every machine, headless CI included. SVG files name the
//! `sans-serif` family and are rendered with the viewer's fonts.
//!
//! # Data handling
//!
//! * The x axis of time charts is the point index; tick labels (about 6-8,
//!   fewer on narrow panels) are taken from `timestamps`, or are the index
//!   when `timestamps` is empty.
//! * NaN and infinite values are skipped and leave gaps in lines.
//! * Constant series are drawn with a padded y range.
//! * Empty series, mismatched lengths, an out-of-range best epoch or a stem
//!   with path separators give [`VizError::InvalidInput`] naming the problem;
//!   no function panics on bad input (a panic inside plotters is reported as
//!   [`VizError::Draw`]).

mod data;
mod error;
mod explain;
mod fairness;
mod font;
mod history;
mod output;
mod prediction;
mod theme;
mod tuning;

pub use error::VizError;
pub use explain::{
    AttentionChart, BarsChart, HeatmapChart, LineChart, NamedLine, attention_analysis,
    feature_bars, heatmap, line_chart,
};
pub use fairness::{BarChart, BarPanel, MAX_BAR_PANELS, bar_chart};
pub use history::{HistoryChart, training_history};
pub use output::{PNG_HEIGHT, PNG_PIXELS_PER_METRE, PNG_WIDTH, SVG_HEIGHT, SVG_WIDTH, Written};
pub use prediction::{
    Band, MAX_PANELS, PredictionChart, multivariate_predictions, predictions_vs_actuals, residuals,
};
pub use tuning::{
    CorrelationChart, MAX_PARAM_PANELS, OptimizationHistoryChart, ParamSeries,
    optimization_history, parameter_correlations, spearman,
};
