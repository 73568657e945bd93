//! End-to-end tests: every chart writes a 300 dpi PNG and an SVG that contain
//! what they should, and bad input is an error rather than a panic.
//!
//! Set `TS_VIZ_SAMPLES_DIR=/some/dir` to keep a copy of the sample charts.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use ts_viz::{
    HistoryChart, PNG_HEIGHT, PNG_PIXELS_PER_METRE, PNG_WIDTH, PredictionChart, VizError, Written,
    multivariate_predictions, predictions_vs_actuals, residuals, training_history,
};

/// Decoded RGB(A) pixels of a chart PNG.
struct Image {
    width: usize,
    height: usize,
    channels: usize,
    data: Vec<u8>,
}

impl Image {
    fn rgb(&self, x: usize, y: usize) -> (u8, u8, u8) {
        let i = (y * self.width + x) * self.channels;
        (self.data[i], self.data[i + 1], self.data[i + 2])
    }

    /// Pixels in rows `rows` that are not (near) white.
    fn non_white(&self, rows: std::ops::Range<usize>) -> usize {
        self.count(rows, |(r, g, b)| r.min(g).min(b) < 245)
    }

    /// Pixels in rows `rows` dark enough to be text or axes.
    fn dark(&self, rows: std::ops::Range<usize>) -> usize {
        self.count(rows, |(r, g, b)| r.max(g).max(b) < 90)
    }

    fn count(&self, rows: std::ops::Range<usize>, pred: impl Fn((u8, u8, u8)) -> bool) -> usize {
        let mut n = 0;
        for y in rows {
            for x in 0..self.width {
                if pred(self.rgb(x, y)) {
                    n += 1;
                }
            }
        }
        n
    }
}

/// Decodes the PNG and checks its size and the 300 dpi `pHYs` chunk.
fn read_png(path: &Path) -> Image {
    let file = BufReader::new(File::open(path).unwrap());
    let mut reader = png::Decoder::new(file).read_info().unwrap();
    let dims = reader.info().pixel_dims.expect("PNG has a pHYs chunk");
    assert_eq!(dims.xppu, PNG_PIXELS_PER_METRE);
    assert_eq!(dims.yppu, 11811);
    assert_eq!(dims.unit, png::Unit::Meter);
    let mut data = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut data).unwrap();
    assert_eq!(info.width, 3000);
    assert_eq!(info.width, PNG_WIDTH);
    assert_eq!(info.height, PNG_HEIGHT);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected colour type {other:?}"),
    };
    data.truncate(info.buffer_size());
    Image {
        width: info.width as usize,
        height: info.height as usize,
        channels,
        data,
    }
}

/// Checks both files of a chart and returns the decoded PNG.
fn check(written: &Written, dir: &Path, stem: &str, title: &str) -> Image {
    assert_eq!(written.png, dir.join(format!("{stem}.png")));
    assert_eq!(written.svg, dir.join(format!("{stem}.svg")));
    assert!(!dir.join(format!("{stem}.png.tmp")).exists());
    assert!(!dir.join(format!("{stem}.svg.tmp")).exists());

    let svg = std::fs::read_to_string(&written.svg).unwrap();
    assert!(
        svg.contains("<svg"),
        "not an SVG: {}",
        &svg[..svg.len().min(200)]
    );
    assert!(svg.contains(title), "SVG lacks the title {title:?}");
    assert!(svg.contains("width=\"1000\"") && svg.contains("height=\"600\""));

    let img = read_png(&written.png);
    let all = 0..img.height;
    let non_white = img.non_white(all.clone());
    let total = img.width * img.height;
    assert!(
        non_white > total / 100,
        "{stem}: PNG looks blank: {non_white} non-white pixels"
    );
    assert!(
        non_white < total / 2,
        "{stem}: PNG is mostly ink: {non_white} non-white pixels"
    );
    let dark = img.dark(all);
    assert!(
        dark > 2_000,
        "{stem}: no text/axis pixels in the PNG ({dark} dark pixels)"
    );
    keep_sample(written, stem);
    img
}

fn keep_sample(written: &Written, stem: &str) {
    if let Some(dir) = std::env::var_os("TS_VIZ_SAMPLES_DIR") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(&written.png, dir.join(format!("{stem}.png"))).unwrap();
        std::fs::copy(&written.svg, dir.join(format!("{stem}.svg"))).unwrap();
    }
}

fn history() -> HistoryChart {
    let train: Vec<f64> = (0..40)
        .map(|e| 0.05 + 0.9 * (-(e as f64) / 6.0).exp())
        .collect();
    let val: Vec<f64> = (0..40)
        .map(|e| {
            0.09 + 0.9 * (-(e as f64) / 6.0).exp() + 0.0004 * (e as f64 - 25.0).max(0.0).powi(2)
        })
        .collect();
    HistoryChart {
        title: "LSTM on ETTh1: training history".into(),
        train_loss: train,
        validation_loss: val,
        best_epoch: Some(26),
        loss_name: "MSE".into(),
    }
}

fn prediction(n: usize, target: &str) -> PredictionChart {
    let day = |i: usize| format!("2019-{:02}-{:02}", 3 + i / 28, 1 + i % 28);
    let actual: Vec<f64> = (0..n)
        .map(|i| 20.0 + 5.0 * (i as f64 / 7.0).sin() + 2.0 * (i as f64 / 2.3).cos())
        .collect();
    let predicted: Vec<f64> = actual
        .iter()
        .enumerate()
        .map(|(i, a)| 0.9 * a + 2.0 + 0.8 * (i as f64 * 1.7).sin())
        .collect();
    let mut naive = vec![actual[0]];
    naive.extend_from_slice(&actual[..n - 1]);
    // The value a week earlier, and the last value plus a small trend.
    let seasonal: Vec<f64> = (0..n).map(|i| actual[i.saturating_sub(7)]).collect();
    let drift: Vec<f64> = naive.iter().map(|v| v + 0.05).collect();
    PredictionChart {
        title: "LSTM on ETTh1: test set".into(),
        target: target.into(),
        timestamps: (0..n).map(day).collect(),
        actual,
        predicted,
        naive: Some(naive),
        seasonal_naive: Some(seasonal),
        drift: Some(drift),
        band: None,
    }
}

#[test]
fn training_history_writes_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let chart = history();
    let w = training_history(&chart, dir.path(), "history").unwrap();
    check(&w, dir.path(), "history", &chart.title);
    let svg = std::fs::read_to_string(&w.svg).unwrap();
    for text in [
        "Train",
        "Validation",
        "Best epoch (26)",
        "Epoch",
        "Loss (MSE)",
    ] {
        assert!(svg.contains(text), "SVG lacks {text:?}");
    }
}

#[test]
fn training_history_uses_log_scale_for_wide_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let chart = HistoryChart {
        title: "Loss over five decades".into(),
        train_loss: (0..30).map(|e| 10f64.powf(1.0 - e as f64 / 6.0)).collect(),
        validation_loss: vec![],
        best_epoch: None,
        loss_name: String::new(),
    };
    let w = training_history(&chart, dir.path(), "history_log").unwrap();
    check(&w, dir.path(), "history_log", &chart.title);
    let svg = std::fs::read_to_string(&w.svg).unwrap();
    assert!(svg.contains("log scale"));
    assert!(!svg.contains("Validation"));
}

#[test]
fn title_text_is_rendered_in_the_png() {
    let dir = tempfile::tempdir().unwrap();
    let titled = history();
    let untitled = HistoryChart {
        title: String::new(),
        ..history()
    };
    let a = read_png(&training_history(&titled, dir.path(), "a").unwrap().png);
    let b = read_png(&training_history(&untitled, dir.path(), "b").unwrap().png);
    // The title occupies roughly the top 90 px (30 px at SVG scale).
    let band = 0..90;
    let (with, without) = (a.dark(band.clone()), b.dark(band));
    assert!(
        with > without + 2_000,
        "title band: {with} dark pixels with a title, {without} without"
    );
}

#[test]
fn predictions_vs_actuals_writes_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let chart = prediction(120, "OT");
    let w = predictions_vs_actuals(&chart, dir.path(), "predictions").unwrap();
    check(&w, dir.path(), "predictions", &chart.title);
    let svg = std::fs::read_to_string(&w.svg).unwrap();
    for text in [
        "Actual",
        "Predicted",
        "Naive (last value)",
        "Seasonal naive",
        "Drift",
        "y = x",
        "2019-03-01",
        "Time",
        "Actual OT",
    ] {
        assert!(svg.contains(text), "SVG lacks {text:?}");
    }
}

#[test]
fn residuals_writes_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let chart = prediction(200, "OT");
    let w = residuals(&chart, dir.path(), "residuals").unwrap();
    check(&w, dir.path(), "residuals", &chart.title);
    let svg = std::fs::read_to_string(&w.svg).unwrap();
    for text in [
        "Residuals over time",
        "Distribution (mean",
        "Count",
        "Residual (OT)",
    ] {
        assert!(svg.contains(text), "SVG lacks {text:?}");
    }
}

#[test]
fn multivariate_predictions_writes_a_grid() {
    let dir = tempfile::tempdir().unwrap();
    let targets = ["HUFL", "HULL", "MUFL", "MULL", "LUFL"];
    let panels: Vec<PredictionChart> = targets.iter().map(|t| prediction(96, t)).collect();
    let w = multivariate_predictions(&panels, dir.path(), "multivariate").unwrap();
    check(&w, dir.path(), "multivariate", &panels[0].title);
    let svg = std::fs::read_to_string(&w.svg).unwrap();
    for text in targets.iter().copied().chain([
        "Actual",
        "Predicted",
        "Naive (last value)",
        "Seasonal naive",
        "Drift",
    ]) {
        assert!(svg.contains(text), "SVG lacks {text:?}");
    }
}

#[test]
fn multivariate_panel_counts_and_mixed_titles() {
    let dir = tempfile::tempdir().unwrap();
    for k in [1, 2, 4, 9, 12] {
        let panels: Vec<PredictionChart> =
            (0..k).map(|i| prediction(50, &format!("t{i}"))).collect();
        let stem = format!("grid{k}");
        let w = multivariate_predictions(&panels, dir.path(), &stem).unwrap();
        check(&w, dir.path(), &stem, &panels[0].title);
    }
    let mut panels = vec![prediction(30, "a"), prediction(30, "b")];
    panels[1].title = "GRU".into();
    panels[1].naive = None;
    panels[0].naive = None;
    // A baseline one panel carries is in the shared legend; one no panel carries is not.
    panels[0].seasonal_naive = None;
    panels[0].drift = None;
    panels[1].drift = None;
    let w = multivariate_predictions(&panels, dir.path(), "mixed").unwrap();
    let svg = std::fs::read_to_string(&w.svg).unwrap();
    assert!(svg.contains("GRU: b"));
    assert!(!svg.contains("Naive"));
    assert!(svg.contains("Seasonal naive"));
    assert!(!svg.contains("Drift"));
}

#[test]
fn awkward_data_still_draws() {
    let dir = tempfile::tempdir().unwrap();
    // Constant series, NaN gaps, a single point, no timestamps.
    let constant = PredictionChart {
        title: "Constant".into(),
        target: "y".into(),
        timestamps: vec![],
        actual: vec![3.0; 20],
        predicted: vec![3.0; 20],
        naive: None,
        seasonal_naive: None,
        drift: None,
        band: None,
    };
    let mut gappy = prediction(60, "gappy");
    gappy.actual[10] = f64::NAN;
    gappy.predicted[30] = f64::NAN;
    gappy.actual[40] = f64::INFINITY;
    if let Some(naive) = gappy.naive.as_mut() {
        naive[0] = f64::NAN;
    }
    let single = PredictionChart {
        title: "Single".into(),
        target: "y".into(),
        timestamps: vec!["2020-01-01".into()],
        actual: vec![1.0],
        predicted: vec![1.5],
        naive: Some(vec![f64::NAN]),
        seasonal_naive: None,
        drift: Some(vec![f64::NAN]),
        band: None,
    };
    for (i, chart) in [constant, gappy, single].iter().enumerate() {
        let stem = format!("awkward{i}");
        let w = predictions_vs_actuals(chart, dir.path(), &stem).unwrap();
        check(&w, dir.path(), &stem, &chart.title);
        let stem = format!("awkward_res{i}");
        let w = residuals(chart, dir.path(), &stem).unwrap();
        check(&w, dir.path(), &stem, &chart.title);
    }
    let w = multivariate_predictions(&[prediction(10, "x")], dir.path(), "one").unwrap();
    check(&w, dir.path(), "one", "LSTM");

    let histories = [
        HistoryChart {
            title: "Flat".into(),
            train_loss: vec![0.5; 5],
            ..Default::default()
        },
        HistoryChart {
            title: "One epoch".into(),
            train_loss: vec![0.5],
            validation_loss: vec![0.6],
            best_epoch: Some(1),
            loss_name: "MAE".into(),
        },
        HistoryChart {
            title: "Gaps".into(),
            train_loss: vec![1.0, f64::NAN, 0.5, 0.4],
            validation_loss: vec![f64::NAN; 4],
            best_epoch: Some(4),
            loss_name: "MSE".into(),
        },
        HistoryChart {
            title: "Zero loss".into(),
            train_loss: vec![1.0, 0.1, 0.0],
            ..Default::default()
        },
    ];
    for (i, chart) in histories.iter().enumerate() {
        let stem = format!("hist{i}");
        let w = training_history(chart, dir.path(), &stem).unwrap();
        check(&w, dir.path(), &stem, &chart.title);
    }
}

#[test]
fn files_are_replaced_and_out_dir_created() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("runs").join("lstm");
    let chart = prediction(40, "OT");
    predictions_vs_actuals(&chart, &nested, "p").unwrap();
    let w = predictions_vs_actuals(&chart, &nested, "p").unwrap();
    check(&w, &nested, "p", &chart.title);
    let names: Vec<String> = std::fs::read_dir(&nested)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn svg_escapes_markup_in_titles() {
    let dir = tempfile::tempdir().unwrap();
    let chart = HistoryChart {
        title: "A <b> & C".into(),
        train_loss: vec![1.0, 0.5],
        ..Default::default()
    };
    let w = training_history(&chart, dir.path(), "escaped").unwrap();
    let svg = std::fs::read_to_string(&w.svg).unwrap();
    assert!(svg.contains("A &lt;b&gt; &amp; C"));
}

fn assert_invalid(result: Result<Written, VizError>, needle: &str) {
    match result {
        Err(VizError::InvalidInput(msg)) => {
            assert!(msg.contains(needle), "{msg:?} lacks {needle:?}")
        }
        other => panic!("expected InvalidInput containing {needle:?}, got {other:?}"),
    }
}

#[test]
fn invalid_input_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();

    assert_invalid(
        training_history(&HistoryChart::default(), out, "h"),
        "train_loss is empty",
    );
    let h = HistoryChart {
        validation_loss: vec![1.0],
        ..history()
    };
    assert_invalid(training_history(&h, out, "h"), "validation_loss");
    let h = HistoryChart {
        best_epoch: Some(41),
        ..history()
    };
    assert_invalid(training_history(&h, out, "h"), "best_epoch 41");
    let h = HistoryChart {
        train_loss: vec![f64::NAN; 3],
        validation_loss: vec![],
        best_epoch: None,
        ..history()
    };
    assert_invalid(training_history(&h, out, "h"), "no finite");
    assert_invalid(training_history(&history(), out, "a/b"), "stem");
    assert_invalid(training_history(&history(), out, ""), "stem");

    let empty = PredictionChart::default();
    let short_pred = PredictionChart {
        predicted: vec![1.0],
        ..prediction(10, "y")
    };
    let short_ts = PredictionChart {
        timestamps: vec!["x".into()],
        ..prediction(10, "y")
    };
    let short_naive = PredictionChart {
        naive: Some(vec![1.0; 3]),
        ..prediction(10, "y")
    };
    let all_nan = PredictionChart {
        actual: vec![f64::NAN; 10],
        ..prediction(10, "y")
    };
    let cases = [
        (&empty, "actual is empty"),
        (&short_pred, "predicted has 1 values but actual has 10"),
        (&short_ts, "timestamps has 1 labels"),
        (&short_naive, "naive has 3 values"),
        (&all_nan, "finite"),
    ];
    for (chart, needle) in cases {
        assert_invalid(predictions_vs_actuals(chart, out, "p"), needle);
        assert_invalid(residuals(chart, out, "r"), needle);
        assert_invalid(
            multivariate_predictions(&[prediction(10, "ok"), chart.clone()], out, "m"),
            needle,
        );
    }
    assert_invalid(
        multivariate_predictions(&[prediction(10, "ok"), short_pred], out, "m"),
        "panel 2",
    );
    assert_invalid(multivariate_predictions(&[], out, "m"), "no panels");
    let many: Vec<PredictionChart> = (0..13).map(|_| prediction(10, "y")).collect();
    assert_invalid(multivariate_predictions(&many, out, "m"), "at most 12");

    assert_eq!(
        std::fs::read_dir(out).unwrap().count(),
        0,
        "invalid input wrote files"
    );
}

#[test]
fn unwritable_out_dir_is_an_io_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    match training_history(&history(), &file, "h") {
        Err(err @ VizError::Io { .. }) => assert!(err.to_string().contains("not-a-dir"), "{err}"),
        other => panic!("expected Io error, got {other:?}"),
    }
}
