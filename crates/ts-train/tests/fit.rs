//! `fit` trains a model whatever device it was built on (the trainer moves it onto the autodiff
//! device and marks its parameters trainable).

use burn::tensor::Device;
use ts_data::Windows;
use ts_model::ModelConfig;
use ts_train::config::{LrSchedule, TrainConfig};
use ts_train::trainer::{Silent, fit};

fn windows(n: usize) -> Windows {
    let (l, f) = (12usize, 2usize);
    let series: Vec<[f32; 2]> = (0..n + l)
        .map(|t| {
            [
                (t as f32 * 0.21).sin() * 0.4 + 0.5,
                (t as f32 * 0.05).cos() * 0.3 + 0.5,
            ]
        })
        .collect();
    let mut x = Vec::new();
    let mut y = Vec::new();
    for i in 0..n {
        for r in &series[i..i + l] {
            x.extend_from_slice(r);
        }
        y.push(series[i + l][0]);
    }
    Windows::from_parts(x, y, l, f, 1, (l - 1..l - 1 + n).collect())
}

/// `n` windows of [`windows`]' inputs whose targets are uniform noise in [0, 1).
fn noisy_windows(n: usize) -> Windows {
    let w = windows(n);
    let (l, f) = (12usize, 2usize);
    let mut x = Vec::with_capacity(n * l * f);
    for i in 0..n {
        x.extend_from_slice(w.x_of(i));
    }
    let mut state = 7u64;
    let y = (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect();
    Windows::from_parts(x, y, l, f, 1, (l - 1..l - 1 + n).collect())
}

/// A small plain LSTM (hidden 16, not residual) built on the plain `flex` device, trained with
/// learning rate 5e-3 and no early stopping for `epochs` epochs on 128 windows, validated on 32.
fn train_small(epochs: usize, ema_epochs: f64) -> ts_train::TrainReport {
    let mut cfg = ModelConfig::new(2, vec![0]);
    cfg.hidden_size = 16;
    cfg.residual = false;
    let model = cfg.init(1, &Device::flex()).unwrap();
    let tc = TrainConfig {
        epochs,
        learning_rate: 5e-3,
        patience: 100,
        ema_epochs,
        ..TrainConfig::default()
    };
    fit(
        model,
        &windows(128),
        &windows(32),
        &tc,
        &Device::flex(),
        &mut Silent,
    )
    .unwrap()
    .1
}

#[test]
fn a_model_built_on_a_plain_device_trains() {
    let report = train_small(15, 0.0);
    let first = report.initial_val_loss.unwrap();
    assert!(
        report.best_val_loss.unwrap() < 0.5 * first,
        "{first} → {:?}",
        report.best_val_loss
    );
}

/// The default configuration on the bundled macro data, forecasting `unemp`.
fn unemp_config() -> ts_train::ForecastConfig {
    let mut cfg = ts_train::ForecastConfig::default();
    cfg.data.path = Some(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../data/statsmodels_macrodata.csv"
        )
        .into(),
    );
    cfg.data.target = ts_train::TargetSpec::One("unemp".into());
    cfg
}

/// The front door: `Trainer` fits a frame into a model that, saved and loaded, scores the test part
/// as training did; sample weights reach the loop (one per training window, else an error).
#[test]
fn trainer_fits_saves_and_reloads_and_takes_sample_weights() {
    use ts_train::{Bundle, ModelChoice, Part, Trainer};
    let mut cfg = unemp_config();
    (cfg.model.kind, cfg.model.hidden_size, cfg.train.epochs) = (ModelChoice::Lstm, 8, 2);
    let (path, options) = cfg.data_source().unwrap();
    let mut frame = ts_data::load(&path, &options).unwrap();
    let trainer = Trainer::new(cfg.clone());
    let prepared = trainer.prepare(&mut frame).unwrap();
    let n_train = prepared.train.n;
    let fitted = trainer.fit_prepared(&frame, prepared).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let model_path = dir.path().join("model.tsf");
    fitted.save(&model_path).unwrap();
    let bundle = Bundle::load(&model_path).unwrap();
    let data = bundle.load_data(&path, Default::default()).unwrap();
    let test = bundle.evaluate(&data, Part::Test).unwrap();
    assert_eq!(test.evaluation.windows, fitted.test.windows);
    let (a, b) = (
        test.evaluation.targets[0].scores.model.mae,
        fitted.test.targets[0].scores.model.mae,
    );
    assert!((a - b).abs() <= 1e-9 * b, "reloaded {a} vs trained {b}");
    // Weights: the wrong count is refused by name; the right count trains.
    let mut frame = ts_data::load(&path, &options).unwrap();
    let err = Trainer::new(cfg.clone())
        .sample_weights(vec![1.0; 3])
        .fit(&mut frame)
        .unwrap_err()
        .to_string();
    assert!(err.contains("sample weights"), "{err}");
    let mut frame = ts_data::load(&path, &options).unwrap();
    let weighted = Trainer::new(cfg)
        .sample_weights(vec![1.0; n_train])
        .fit(&mut frame)
        .unwrap();
    assert_eq!(weighted.report.history.len(), 2);
}

/// `train.refit_with_validation`: the network chosen on validation is trained again from its
/// start on every window before the test part for the epochs its first run kept; that network
/// forecasts the test part (and is the one saved), while the first run's history and the
/// intervals calibrated on its validation errors stay as they were.
#[test]
fn the_chosen_network_is_trained_again_on_the_training_and_validation_windows() {
    use ts_train::{Bundle, ModelChoice, Part, Trainer};
    let mut cfg = unemp_config();
    (cfg.model.kind, cfg.model.hidden_size, cfg.train.epochs) = (ModelChoice::Lstm, 8, 4);
    // One network (the refit trains one again, and is compared with it).
    (cfg.data.horizon, cfg.train.seed_members) = (2, 1);
    let (path, options) = cfg.data_source().unwrap();
    let fit = |refit: bool| {
        let mut cfg = cfg.clone();
        cfg.train.refit_with_validation = refit;
        let mut frame = ts_data::load(&path, &options).unwrap();
        Trainer::new(cfg).fit(&mut frame).unwrap()
    };
    let (plain, refitted) = (fit(false), fit(true));
    assert!(plain.report.refit.is_none());
    assert!(plain.report.best_epoch > 0, "{:?}", plain.report);
    let record = refitted.report.refit.expect("a refit record");
    assert_eq!(record.epochs, plain.report.best_epoch);
    // Every window whose targets lie before the test part: the two parts' windows and the one
    // whose two target rows straddle their boundary.
    let p = &plain.prepared;
    assert_eq!(record.windows, p.train.n + p.validation.n + 1);
    let losses = |r: &ts_train::TrainReport| -> Vec<(f64, Option<f64>)> {
        r.history
            .iter()
            .map(|e| (e.train_loss, e.val_loss))
            .collect()
    };
    assert_eq!(losses(&refitted.report), losses(&plain.report));
    assert_eq!(refitted.report.best_epoch, plain.report.best_epoch);
    assert_eq!(
        serde_json::to_string(&refitted.intervals).unwrap(),
        serde_json::to_string(&plain.intervals).unwrap()
    );
    assert_ne!(refitted.test_predictions, plain.test_predictions);
    // The model file holds the refitted network, and the history its record.
    let dir = tempfile::tempdir().unwrap();
    let model_path = dir.path().join("model.tsf");
    refitted.save(&model_path).unwrap();
    let bundle = Bundle::load(&model_path).unwrap();
    let data = bundle.load_data(&path, Default::default()).unwrap();
    let test = bundle.evaluate(&data, Part::Test).unwrap();
    let (a, b) = (
        test.evaluation.targets[0].scores.model.mae,
        refitted.test.targets[0].scores.model.mae,
    );
    assert!((a - b).abs() <= 1e-9 * b, "reloaded {a} vs refitted {b}");
    let json = serde_json::to_string(&refitted.report).unwrap();
    let back: ts_train::TrainReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back.refit, Some(record));
    // Stopped during the refit (its run is the second to start): the chosen network stands.
    struct StopSecondRun(usize);
    impl ts_train::trainer::Observer for StopSecondRun {
        fn on_start(&mut self, _: usize, _: usize, _: usize) {
            self.0 += 1;
        }
        fn should_stop(&self) -> bool {
            self.0 >= 2
        }
    }
    let mut stop = StopSecondRun(0);
    let mut cfg = cfg.clone();
    cfg.train.refit_with_validation = true;
    let mut frame = ts_data::load(&path, &options).unwrap();
    let stopped = Trainer::new(cfg)
        .observer(&mut stop)
        .fit(&mut frame)
        .unwrap();
    assert_eq!(stop.0, 2);
    assert!(stopped.report.refit.is_none());
    assert_eq!(stopped.test_predictions, plain.test_predictions);
}

/// `train.seed_members`: after the choice, more networks of the kept architecture are trained
/// from other seeds, each as a run with that seed would train it, and the model becomes their
/// ensemble: its test forecasts are the mean of those runs', and its model file holds them all.
#[test]
fn seed_members_average_the_chosen_network_with_runs_from_other_seeds() {
    use ts_train::fit::member_seed;
    use ts_train::{Bundle, ModelChoice, Part, Trainer};
    let mut cfg = unemp_config();
    (cfg.model.kind, cfg.model.hidden_size, cfg.train.epochs) = (ModelChoice::Lstm, 8, 4);
    let (path, options) = cfg.data_source().unwrap();
    let fit = |seed: u64, members: usize| {
        let mut cfg = cfg.clone();
        (cfg.train.seed, cfg.train.seed_members) = (seed, members);
        let mut frame = ts_data::load(&path, &options).unwrap();
        Trainer::new(cfg).fit(&mut frame).unwrap()
    };
    let three = fit(7, 3);
    assert_eq!(three.model.config.ensemble, 3);
    let seeds: Vec<u64> = three.report.seed_members.iter().map(|m| m.seed).collect();
    assert_eq!(seeds, vec![member_seed(7, 1), member_seed(7, 2)]);
    assert_ne!(seeds[0], 8);
    let singles: Vec<_> = [7, seeds[0], seeds[1]].map(|s| fit(s, 1)).into();
    for (m, single) in three.report.seed_members.iter().zip(&singles[1..]) {
        assert_eq!(m.best_epoch, single.report.best_epoch);
    }
    assert!(singles.iter().all(|s| s.report.best_epoch > 0));
    assert_ne!(singles[0].test_predictions, singles[1].test_predictions);
    for (i, p) in three.test_predictions.iter().enumerate() {
        let mean = singles
            .iter()
            .map(|s| f64::from(s.test_predictions[i]))
            .sum::<f64>()
            / 3.0;
        assert!(
            (f64::from(*p) - mean).abs() < 1e-5,
            "window {i}: {p} vs {mean}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let model_path = dir.path().join("model.tsf");
    three.save(&model_path).unwrap();
    let bundle = Bundle::load(&model_path).unwrap();
    let data = bundle.load_data(&path, Default::default()).unwrap();
    let test = bundle.evaluate(&data, Part::Test).unwrap();
    let (a, b) = (
        test.evaluation.targets[0].scores.model.mae,
        three.test.targets[0].scores.model.mae,
    );
    assert!((a - b).abs() <= 1e-9 * b, "reloaded {a} vs trained {b}");
    let json = serde_json::to_string(&three.report).unwrap();
    let back: ts_train::TrainReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back.seed_members, three.report.seed_members);
    // None is refused; with the refit, one network is trained again instead.
    let mut bad = cfg.clone();
    bad.train.seed_members = 0;
    assert!(
        bad.validate()
            .unwrap_err()
            .to_string()
            .contains("seed_members")
    );
    let mut refit = cfg.clone();
    (refit.train.seed, refit.train.refit_with_validation) = (7, true);
    let mut frame = ts_data::load(&path, &options).unwrap();
    let refitted = Trainer::new(refit).fit(&mut frame).unwrap();
    assert_eq!(refitted.model.config.ensemble, 1);
    assert!(refitted.report.seed_members.is_empty() && refitted.report.refit.is_some());
}

/// `auto` with a validation part shorter than a season cannot choose between its networks, so
/// it trains only the one it would keep (the better start) and describes the other by its
/// untrained start; the kept network is the one that network trains alone. With a season the
/// part covers, both are trained.
#[test]
fn auto_trains_only_the_candidate_it_could_keep_when_validation_is_short() {
    use ts_train::{ModelChoice, Trainer};
    let mut cfg = unemp_config();
    (cfg.model.hidden_size, cfg.train.epochs) = (8, 3);
    let (path, options) = cfg.data_source().unwrap();
    let run = |kind: ModelChoice, season: usize| {
        let mut cfg = cfg.clone();
        (cfg.model.kind, cfg.data.season) = (kind, Some(season));
        let mut frame = ts_data::load(&path, &options).unwrap();
        Trainer::new(cfg).fit(&mut frame).unwrap()
    };
    let both = run(ModelChoice::Auto, 4);
    assert!(both.candidates.iter().all(|c| !c.not_trained));
    assert_eq!(both.candidates.len(), 2);
    // 16 validation windows, a season of 20 rows.
    let short = run(ModelChoice::Auto, 20);
    assert!(
        short.prepared.validation.n < 20,
        "{}",
        short.prepared.validation.n
    );
    let trained: Vec<_> = short.candidates.iter().filter(|c| !c.not_trained).collect();
    assert_eq!(trained.len(), 1, "{:?}", short.candidates);
    assert!(trained[0].chosen);
    let skipped = short.candidates.iter().find(|c| c.not_trained).unwrap();
    assert!(!skipped.chosen);
    assert_eq!(skipped.best_epoch, 0);
    assert_eq!(skipped.best_val_loss, skipped.initial_val_loss);
    assert!(trained[0].initial_val_loss <= skipped.initial_val_loss);
    let alone = run(
        match trained[0].name.as_str() {
            "hybrid" => ModelChoice::Hybrid,
            _ => ModelChoice::Lstm,
        },
        20,
    );
    assert_eq!(alone.test_predictions, short.test_predictions);
    assert_eq!(alone.report.best_epoch, short.report.best_epoch);
}

/// A network kept at its untrained start (residual head at zero, no linear branch: the naive
/// forecast) is fitted on nothing, so its intervals are calibrated on the training and the
/// validation windows; a fitted one (the hybrid's closed-form linear branch) on validation only.
#[test]
fn the_naive_start_is_calibrated_on_every_window_before_the_test_part() {
    use ts_train::{CalibrationSet, ModelChoice, Trainer};
    let mut cfg = unemp_config();
    cfg.data.horizon = 16;
    (cfg.model.hidden_size, cfg.train.epochs) = (8, 2);
    // Training cannot clearly beat the start at this rate: the start is kept.
    (cfg.train.learning_rate, cfg.train.require_clear_gain) = (1e-9, true);
    let (path, options) = cfg.data_source().unwrap();
    let run = |kind: ModelChoice| {
        let mut cfg = cfg.clone();
        cfg.model.kind = kind;
        let mut frame = ts_data::load(&path, &options).unwrap();
        Trainer::new(cfg).fit(&mut frame).unwrap()
    };
    let naive = run(ModelChoice::Lstm);
    assert_eq!(naive.report.best_epoch, 0);
    let iv = naive.intervals.as_ref().unwrap();
    let (train, val) = (naive.prepared.train.n, naive.prepared.validation.n);
    assert!(val < 20, "few validation windows at 16 quarters: {val}");
    assert_eq!(iv.calibrated_on, CalibrationSet::TrainingAndValidation);
    assert_eq!(iv.calibration_windows, train + val);
    assert_eq!(
        iv.capped,
        vec![false, false],
        "{} windows",
        iv.calibration_windows
    );
    assert_eq!(iv.errors[0].len(), train + val);
    // The hybrid at its start: on every window if its linear branch kept its anchor.
    let hybrid = run(ModelChoice::Hybrid);
    let iv = hybrid.intervals.as_ref().unwrap();
    let kept = hybrid.candidates.iter().find(|c| c.chosen).unwrap();
    let anchor_kept = kept.linear.as_ref().unwrap().penalty.is_none();
    assert_eq!(kept.best_epoch, 0);
    assert_eq!(
        (iv.calibrated_on, iv.calibration_windows),
        if anchor_kept {
            (CalibrationSet::TrainingAndValidation, train + val)
        } else {
            (CalibrationSet::Validation, val)
        }
    );
}

/// Which starts count as fitted on nothing: the naive (residual head at zero, no linear branch)
/// and a linear branch that kept its anchor; not a trained network, a fitted ridge branch or a
/// network that forecasts levels.
#[test]
fn only_forecasts_fitted_on_nothing_are_calibrated_on_the_training_part() {
    use ts_train::CalibrationSet::{TrainingAndValidation as Both, Validation};
    use ts_train::fit::calibration_set;
    use ts_train::linear_init::LinearFit;
    let mut model = ModelConfig::new(1, vec![0])
        .init(1, &Device::flex())
        .unwrap();
    let report = |best_epoch| ts_train::TrainReport {
        history: Vec::new(),
        initial_val_loss: Some(1.0),
        best_epoch,
        best_val_loss: Some(1.0),
        stopped_early: false,
        interrupted: false,
        seconds: 0.0,
        refit: None,
        seed_members: Vec::new(),
    };
    let fit = |penalty| LinearFit {
        penalty,
        val_loss: 1.0,
        anchor: "seasonal naive".into(),
    };
    assert_eq!(calibration_set(&model, &report(0), None), Both);
    assert_eq!(calibration_set(&model, &report(3), None), Validation);
    model.config.linear = true;
    assert_eq!(calibration_set(&model, &report(0), Some(&fit(None))), Both);
    assert_eq!(
        calibration_set(&model, &report(0), Some(&fit(Some(0.1)))),
        Validation
    );
    assert_eq!(
        calibration_set(&model, &report(3), Some(&fit(None))),
        Validation
    );
    // A resumed run does not know how its branch started.
    assert_eq!(calibration_set(&model, &report(0), None), Validation);
    model.config.linear = false;
    model.config.residual = false;
    assert_eq!(calibration_set(&model, &report(0), None), Validation);
}

/// `train.ema_epochs`: the moving average of the weights is what is validated and kept. It
/// starts at the untrained network, so a very long average stays there (every epoch's
/// validation loss is the untrained one's), while a short one learns.
#[test]
fn the_averaged_weights_start_at_the_untrained_network() {
    let train = |ema_epochs: f64| train_small(6, ema_epochs);
    let frozen = train(1e12);
    let first = frozen.initial_val_loss.unwrap();
    for r in &frozen.history {
        let v = r.val_loss.unwrap();
        assert!(
            (v - first).abs() <= 1e-5 * first,
            "epoch {}: {v} vs {first}",
            r.epoch
        );
    }
    let learning = train(0.5);
    assert!(
        learning.best_val_loss.unwrap() < 0.7 * first,
        "{first} → {:?}",
        learning.best_val_loss
    );
    let plain = train(0.0);
    assert_ne!(
        plain.history.iter().map(|r| r.val_loss).collect::<Vec<_>>(),
        learning
            .history
            .iter()
            .map(|r| r.val_loss)
            .collect::<Vec<_>>()
    );
}

/// A table of `days` days of January 2021 (at most 31) taken every `minutes` minutes (a daily
/// cycle and noise), loaded.
fn sub_hourly(dir: &std::path::Path, minutes: usize, days: usize) -> ts_data::Frame {
    use std::fmt::Write as _;
    let per_day = 24 * 60 / minutes;
    let mut text = String::from("date,load\n");
    for i in 0..days * per_day {
        let (day, slot) = (i / per_day, i % per_day);
        let phase = std::f64::consts::TAU * slot as f64 / per_day as f64;
        let noise = ((i * 7919) % 101) as f64 / 101.0;
        writeln!(
            text,
            "2021-01-{:02} {:02}:{:02}:00,{:.3}",
            day + 1,
            slot * minutes / 60,
            slot * minutes % 60,
            100.0 + 10.0 * phase.sin() + noise
        )
        .unwrap();
    }
    let path = dir.join(format!("every_{minutes}_minutes.csv"));
    std::fs::write(&path, text).unwrap();
    ts_data::load(&path, &ts_data::LoadOptions::default()).unwrap()
}

/// A weekly season longer than the longest default window of one season (15-minute data: 672
/// rows) still sets the window (not the 12-row default): it holds the week for the hybrid's
/// linear branch while the LSTM layers read the last day (96 rows), and a table too short for it
/// gets the day. A window shorter than the season (`--sequence-length 96` on hourly data,
/// season 168) starts the linear branch from the day it holds (24), not from the naive
/// forecast. The LSTM layers of a window that holds the week, or at least two days, read its
/// last day.
#[test]
fn long_seasons_set_the_window_and_the_day_the_lstm_reads() {
    use ts_train::pipeline::{
        branch_season, lstm_window, resolve_season, resolve_spec, window_season,
    };
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ts_train::config::DataConfig {
        target: ts_train::TargetSpec::One("load".into()),
        ..Default::default()
    };
    let quarter_hours = sub_hourly(dir.path(), 15, 31);
    let season = resolve_season(&quarter_hours, &cfg);
    assert_eq!(season, 672);
    assert_eq!(window_season(&quarter_hours, season), 96);
    let spec = resolve_spec(&quarter_hours, &cfg).unwrap();
    assert_eq!(spec.lookback, 672);
    assert_eq!(branch_season(&quarter_hours, season, spec.lookback), 672);
    assert_eq!(lstm_window(&quarter_hours, &cfg, spec.lookback), 96);
    // A week in the training rows three times, but more than a quarter of the table: the day.
    let short = sub_hourly(dir.path(), 15, 26);
    let tight = ts_train::config::DataConfig {
        train_split: 0.95,
        ..cfg.clone()
    };
    assert_eq!(resolve_season(&short, &tight), 672);
    let lookback = resolve_spec(&short, &tight).unwrap().lookback;
    assert!(
        lookback >= 96 && lookback.is_multiple_of(96) && lookback <= 512,
        "{lookback}"
    );
    assert_eq!(branch_season(&short, 672, lookback), 96);
    // The LSTM reads the last day of a window of two days or more.
    assert_eq!(lookback, 288);
    assert_eq!(lstm_window(&short, &tight, lookback), 96);
    assert_eq!(lstm_window(&short, &tight, 96), 0);
    let hours = sub_hourly(dir.path(), 60, 31);
    let season = resolve_season(&hours, &cfg);
    assert_eq!(season, 168);
    assert_eq!(window_season(&hours, season), 168);
    assert_eq!(branch_season(&hours, season, 96), 24);
    assert_eq!(branch_season(&hours, season, 12), 168);
    // The LSTM reads the last day of a window that holds the week or at least two days, the
    // whole of any other window.
    let lookback = resolve_spec(&hours, &cfg).unwrap().lookback;
    assert_eq!((lookback, lstm_window(&hours, &cfg, lookback)), (168, 24));
    let half_hours = sub_hourly(dir.path(), 30, 31);
    let lookback = resolve_spec(&half_hours, &cfg).unwrap().lookback;
    assert_eq!(
        (lookback, lstm_window(&half_hours, &cfg, lookback)),
        (336, 48)
    );
    cfg.sequence_length = Some(96);
    assert_eq!(resolve_spec(&hours, &cfg).unwrap().lookback, 96);
    assert_eq!(lstm_window(&hours, &cfg, 96), 24);
    assert_eq!(lstm_window(&hours, &cfg, 48), 24);
    assert_eq!(lstm_window(&hours, &cfg, 47), 0);
    assert_eq!(lstm_window(&hours, &cfg, 24), 0);
    // A season the user names as the day: nothing shorter inside it.
    cfg.season = Some(24);
    assert_eq!(lstm_window(&hours, &cfg, 96), 0);
}

/// A half-hourly network whose LSTM reads the last day of its weekly window: the model file is
/// format version 2 and records it, a retrain keeps it, and `model.lstm_window` overrides the
/// default (0 = the whole window).
#[test]
fn the_lstm_window_travels_in_the_model_file_and_retrains() {
    use ts_train::pipeline::resolve_lstm_window;
    use ts_train::{Bundle, ModelChoice, Trainer};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("every_30_minutes.csv");
    let _ = sub_hourly(dir.path(), 30, 31);
    let mut cfg = ts_train::ForecastConfig::default();
    cfg.data.path = Some(path.clone());
    cfg.data.target = ts_train::TargetSpec::One("load".into());
    (cfg.model.kind, cfg.model.hidden_size, cfg.train.epochs) = (ModelChoice::Hybrid, 4, 1);
    let (path, options) = cfg.data_source().unwrap();
    let mut frame = ts_data::load(&path, &options).unwrap();
    let fitted = Trainer::new(cfg.clone()).fit(&mut frame).unwrap();
    assert_eq!(fitted.prepared.spec.lookback, 336);
    assert_eq!(fitted.model.config.lstm_window, 48);
    let model_path = dir.path().join("model.tsf");
    fitted.save(&model_path).unwrap();
    let bytes = std::fs::read(&model_path).unwrap();
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 2);
    let bundle = Bundle::load(&model_path).unwrap();
    assert_eq!(bundle.model.config.lstm_window, 48);
    assert_eq!(bundle.retrain_config().model.lstm_window, Some(48));
    let mut whole = cfg.clone();
    whole.model.lstm_window = Some(0);
    assert_eq!(resolve_lstm_window(&frame, &whole, 336), 0);
    assert_eq!(resolve_lstm_window(&frame, &cfg, 336), 48);
}

/// A one-layer plain LSTM of hidden size 8 (not residual) on the plain `flex` device.
fn tiny_plain_lstm() -> ts_model::Forecaster {
    let mut cfg = ModelConfig::new(2, vec![0]);
    cfg.hidden_size = 8;
    cfg.num_layers = 1;
    cfg.residual = false;
    cfg.init(1, &Device::flex()).unwrap()
}

/// Trains a small plain LSTM with one window per batch (128 optimizer steps an epoch) and a
/// validation part it cannot learn (noise), with the patience of 20 epochs bounded by
/// `patience_batches`.
fn train_noisy_validation(
    patience_batches: Option<usize>,
    lr_schedule: LrSchedule,
) -> ts_train::TrainReport {
    let model = tiny_plain_lstm();
    let tc = TrainConfig {
        epochs: 60,
        batch_size: 1,
        learning_rate: 5e-3,
        patience: 20,
        patience_batches,
        lr_schedule,
        intervals: vec![],
        ..TrainConfig::default()
    };
    let val = noisy_windows(32);
    fit(
        model,
        &windows(128),
        &val,
        &tc,
        &Device::flex(),
        &mut Silent,
    )
    .unwrap()
    .1
}

#[test]
fn the_patience_is_bounded_in_optimizer_steps() {
    // 128 batches an epoch: a bound of 640 steps is 5 stale epochs, not 20, and all of them
    // count (the cosine schedule's wait for its midpoint is for tables of few steps an epoch).
    let bounded = train_noisy_validation(Some(640), LrSchedule::Cosine);
    assert!(bounded.stopped_early, "{:?}", bounded.history.len());
    assert_eq!(bounded.history.len(), bounded.best_epoch + 5);
    // Without the bound the same run waits 20 stale epochs, counted from epoch 30 (the midpoint
    // of the cosine schedule's 60 epochs) on, or reaches the last epoch.
    let plain = train_noisy_validation(Some(0), LrSchedule::Cosine);
    assert!(
        plain.history.len() == (plain.best_epoch + 20).clamp(50, 60),
        "{} epochs, best {}",
        plain.history.len(),
        plain.best_epoch
    );
    // With a constant rate every stale epoch counts from the start.
    let constant = train_noisy_validation(Some(0), LrSchedule::Constant);
    assert_eq!(
        constant.history.len(),
        (constant.best_epoch + 20).min(60),
        "best {}",
        constant.best_epoch
    );
}

/// Past the point where the patience alone would have stopped a run (under the cosine schedule
/// stale epochs count only from its midpoint on), a lower validation loss replaces the kept
/// weights only when clearly lower. With one validation window nothing is ever clearly lower, so
/// the kept epoch is the best one before that point, although later epochs scored lower.
#[test]
fn epochs_past_the_patience_are_kept_only_when_clearly_better() {
    let model = tiny_plain_lstm();
    let tc = TrainConfig {
        epochs: 60,
        batch_size: 16,
        learning_rate: 5e-3,
        patience: 5,
        patience_batches: Some(0),
        intervals: vec![],
        ..TrainConfig::default()
    };
    let report = fit(
        model,
        &windows(128),
        &windows(1),
        &tc,
        &Device::flex(),
        &mut Silent,
    )
    .unwrap()
    .1;
    // Replay the plain patience on the history: where 5 stale epochs would have stopped the run.
    let losses: Vec<f64> = report.history.iter().map(|r| r.val_loss.unwrap()).collect();
    let mut best = report.initial_val_loss.unwrap();
    let (mut best_epoch, mut stale, mut plain_stop) = (0, 0, None);
    for (i, &v) in losses.iter().enumerate() {
        if v < best {
            (best, best_epoch, stale) = (v, i + 1, 0);
        } else {
            stale += 1;
        }
        if stale >= 5 {
            plain_stop = Some(i + 1);
            break;
        }
    }
    let plain_stop = plain_stop.expect("the patience runs out");
    assert!(plain_stop < 30, "plain stop at epoch {plain_stop}");
    // The run went on to the midpoint and past it, and some later epoch scored lower ...
    assert!(
        report.history.len() >= 35,
        "{} epochs",
        report.history.len()
    );
    assert!(
        losses[plain_stop..].iter().any(|&v| v < best),
        "no later epoch below {best}: {losses:?}"
    );
    // ... but the weights kept are those of the best epoch before the plain stop.
    assert_eq!(report.best_epoch, best_epoch);
    assert_eq!(report.best_val_loss, Some(best));
}
