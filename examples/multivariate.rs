//! Several targets and a multi-step horizon: forecast every column of the seed's FRED table
//! (`data/macro_fred_monthly_1990_2025.csv`) three steps ahead, and draw one panel per target.
//!
//! `cargo run --release --example multivariate`

use ts_data::{LoadOptions, load};
use ts_train::progress::ProgressBar;
use ts_train::{ForecastConfig, TargetSpec, pipeline, train};
use tsf_examples::{data_file, print_evaluation};

fn main() -> anyhow::Result<()> {
    let path = data_file("macro_fred_monthly_1990_2025.csv");
    let frame = load(&path, &LoadOptions::default())?;
    let mut cfg = ForecastConfig::default();
    cfg.data.target = TargetSpec::One("all".into());
    cfg.data.horizon = 3;
    let outcome = train(&frame, &cfg, &mut ProgressBar::new(false, 10))?;
    print_evaluation(&outcome.test);
    for t in &outcome.test.targets {
        let steps: Vec<String> = t
            .by_step
            .iter()
            .enumerate()
            .map(|(s, m)| {
                format!(
                    "t+{}: R² {:.3} (naive {:.3})",
                    s + 1,
                    m.model.r2,
                    m.naive.r2
                )
            })
            .collect();
        println!("{}: {}", t.target, steps.join(", "));
    }
    // One chart panel per target (one step ahead).
    let rows: Vec<_> = outcome.test_rows(&frame).collect();
    let panels: Vec<ts_viz::PredictionChart> = outcome
        .prepared
        .spec
        .targets
        .iter()
        .map(|t| {
            let series = pipeline::series_of(&rows, t, 1);
            ts_viz::PredictionChart {
                title: t.clone(),
                target: t.clone(),
                timestamps: series.timestamps,
                actual: series.actual,
                predicted: series.predicted,
                naive: Some(series.naive),
                seasonal_naive: (!series.seasonal_naive.is_empty())
                    .then_some(series.seasonal_naive),
                drift: Some(series.drift),
                band: None,
            }
        })
        .collect();
    let out = std::env::temp_dir();
    let w = ts_viz::multivariate_predictions(&panels, &out, "tsf_multivariate_example")?;
    println!("chart: {}", w.png.display());
    Ok(())
}
