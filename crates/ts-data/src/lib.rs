//! # ts-data: tables in, windows out
//!
//! The bottom layer of tsf (no Burn). Its files follow the pipeline's stages:
//! [`load()`] (CSV with a streaming reader; Parquet through polars, behind the default `parquet`
//! feature) → [`validate`] (numeric cells, the missing-value policy, sorted unique time stamps)
//! into a [`Frame`] → [`split`] (chronological train | validation | test) → [`scaler`] (fitted on
//! the training rows only) → [`window`] (sliding [`Windows`], `x [n, lookback, features]`,
//! `y [n, horizon × targets]`); [`season`] finds the seasonal periods of the time step.
//!
//! ```
//! use ts_data::{LoadOptions, ScalerKind, SplitConfig, WindowSpec, load, prepare};
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/statsmodels_macrodata.csv");
//! let frame = load(path.as_ref(), &LoadOptions::default())?;
//! let spec = WindowSpec::new(12, 1, frame.columns.clone(), vec!["unemp".into()])?;
//! let prepared = prepare(&frame, &spec, &SplitConfig::default(), ScalerKind::MinMax)?;
//! assert!(prepared.train.n > prepared.validation.n && prepared.test.n > 0);
//! # Ok::<(), ts_data::DataError>(())
//! ```
//!
//! Without default features (`default-features = false`) ts-data builds without polars: the
//! layers above that only need its types (ts-model stores a [`Scaler`] and a [`WindowSpec`]) do
//! not pull polars in; a Parquet file is then refused by name.

pub mod calendar;
mod csv_load;
pub mod error;
pub mod frame;
pub mod load;
#[cfg(feature = "parquet")]
mod parquet_check;
#[cfg(feature = "parquet")]
mod parquet_load;
pub mod scaler;
pub mod season;
pub mod split;
pub mod table;
pub mod validate;
pub mod window;

pub use csv_load::{check_csv_text, read_csv};
pub use error::{DataError, Result};
pub use frame::{
    DayMonthOrder, FillPolicy, Frame, LoadOptions, MissingFilled, TimeIndex, parse_time,
    time_label, widen,
};
pub use load::load;
#[cfg(feature = "parquet")]
pub use parquet_load::frame_from_dataframe;
pub use scaler::{Scaler, ScalerKind, quantile};
pub use season::{
    TimeGaps, detect_seasons, median_date_step, primary_season, seasonal_lag, seasons_of_step,
    step_in_words, time_gaps,
};
pub use split::{SplitBounds, SplitConfig};
pub use table::TextTable;
pub use window::{
    Prepared, Series, WindowSpec, Windows, anchors_in, prepare, prepare_bounds, prepare_owned,
};
