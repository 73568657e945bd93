//! # ts-data: tables in, windows out
//!
//! The bottom layer of tsf (no Burn). It loads CSV or Parquet files through polars into a
//! validated [`Frame`] (sorted unique time stamps, numeric columns, an explicit missing-value
//! policy), splits rows chronologically into train | validation | test, fits a [`Scaler`] on the
//! training rows only, and cuts sliding [`Windows`] (`x [n, lookback, features]`,
//! `y [n, horizon × targets]`).
//!
//! ```no_run
//! use ts_data::{load, LoadOptions, WindowSpec, SplitConfig, ScalerKind, prepare};
//! let frame = load("data/statsmodels_macrodata.csv".as_ref(), &LoadOptions::default())?;
//! let spec = WindowSpec::new(12, 1, frame.columns.clone(), vec!["unemp".into()])?;
//! let prepared = prepare(&frame, &spec, &SplitConfig::default(), ScalerKind::MinMax)?;
//! println!("{} training windows", prepared.train.n);
//! # Ok::<(), ts_data::DataError>(())
//! ```

mod csv_load;
pub mod error;
pub mod frame;
mod parquet_check;
pub mod scaler;
pub mod season;
pub mod table;
pub mod window;

pub use csv_load::{check_csv_text, read_csv};
pub use error::{DataError, Result};
pub use frame::{
    FillPolicy, Frame, LoadOptions, TimeIndex, frame_from_dataframe, load, parse_time, widen,
};
pub use scaler::{Scaler, ScalerKind};
pub use season::{detect_seasons, primary_season, seasonal_lag, seasons_of_step};
pub use table::TextTable;
pub use window::{
    Prepared, Series, SplitBounds, SplitConfig, WindowSpec, Windows, anchors_in, prepare,
    prepare_bounds, prepare_owned,
};
