//! Basic usage: one target, the default recipe, save the model, reload it and forecast.
//!
//! `cargo run --release --example basic [-- FILE TARGET]`

use ts_data::{LoadOptions, load};
use ts_train::pipeline::{load_model, predict_frame, save_model};
use ts_train::progress::ProgressBar;
use ts_train::{ForecastConfig, TargetSpec, train};
use tsf_examples::{data_file, print_evaluation};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .map(Into::into)
        .unwrap_or_else(|| data_file("statsmodels_macrodata.csv"));
    let target = args.next().unwrap_or_else(|| "tbilrate".into());

    // 1. Load and validate the table (CSV or Parquet).
    let frame = load(&path, &LoadOptions::default())?;
    let (start, end) = frame.date_range();
    println!(
        "{} rows, {} columns, {start} to {end}",
        frame.n_rows(),
        frame.n_columns()
    );

    // 2. Configure: defaults are the documented ones; pick the target and inputs.
    let mut cfg = ForecastConfig::default();
    cfg.data.target = TargetSpec::One(target.clone());
    if frame.columns.iter().any(|c| c == "tbilrate") {
        cfg.data.features = ["realgdp", "cpi", "tbilrate", "unemp", "infl"]
            .map(String::from)
            .to_vec();
    }

    // 3. Train (progress bar on a terminal) and evaluate on the test part.
    let outcome = train(&frame, &cfg, &mut ProgressBar::new(false, 10))?;
    println!(
        "kept epoch {} of {}",
        outcome.report.best_epoch,
        outcome.report.history.len()
    );
    print_evaluation(&outcome.test);

    // 4. Save, reload, and forecast past the end of the data.
    let model_path = std::env::temp_dir().join("tsf-basic-example.tsf");
    save_model(&model_path, &outcome)?;
    let bundle = load_model(&model_path)?;
    let rows = predict_frame(&bundle, &frame)?;
    for r in rows.iter().filter(|r| r.actual.is_none()) {
        println!("forecast {} {} = {:.4}", r.timestamp, r.target, r.predicted);
    }
    Ok(())
}
