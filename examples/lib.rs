//! Shared helpers for the tsf examples (`cargo run --release --example basic`).

use std::path::PathBuf;

/// A path inside the repository's `data/` folder, independent of the working directory.
pub fn data_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("data")
        .join(name)
}

/// Prints a test evaluation as a small table.
pub fn print_evaluation(eval: &ts_train::Evaluation) {
    println!(
        "{:<34} {:>10} {:>10} {:>10} {:>8} {:>10}",
        "target", "MSE", "RMSE", "MAE", "R²", "naive R²"
    );
    for t in &eval.targets {
        let m = &t.original;
        println!(
            "{:<34} {:>10.5} {:>10.5} {:>10.5} {:>8.4} {:>10.4}",
            t.target, m.mse, m.rmse, m.mae, m.r2, t.naive.original.r2
        );
    }
}
