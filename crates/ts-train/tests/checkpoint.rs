//! Checkpoints and determinism on the CPU backend: the same seed gives bit-identical weights and
//! metrics, and a run continued from a checkpoint (mid-epoch or at an epoch boundary) ends exactly
//! where the uninterrupted run ends.

use std::cell::Cell;
use std::path::Path;

use ts_data::Frame;
use ts_model::file::write_atomic;
use ts_train::checkpoint::{self, Checkpointer, FileCheckpointer, Snapshot};
use ts_train::pipeline::{self, FitOutcome};
use ts_train::{EpochRecord, ForecastConfig, Observer, Silent, TargetSpec, TrainError};

fn frame() -> Frame {
    let n = 260;
    let a: Vec<f64> = (0..n)
        .map(|i| (i as f64 * 0.21).sin() * 3.0 + (i as f64 * 0.043).cos() + i as f64 * 0.01)
        .collect();
    let b: Vec<f64> = (0..n)
        .map(|i| (i as f64 * 0.11).cos() * 2.0 + ((i * 7919) % 13) as f64 * 0.05)
        .collect();
    Frame::from_columns("mem", vec!["a".into(), "b".into()], vec![a, b], None).unwrap()
}

fn config() -> ForecastConfig {
    let mut c = ForecastConfig::default();
    c.data.target = TargetSpec::One("a".into());
    c.data.sequence_length = Some(8);
    // One network (`auto` trains two; a resumed run continues only the one its checkpoint holds).
    c.model.kind = ts_train::ModelChoice::Lstm;
    c.model.hidden_size = 12;
    c.model.dropout = 0.3;
    c.train.epochs = 7;
    c.train.batch_size = 16;
    c.train.seed = 7;
    c.train.patience = 0;
    c
}

/// Every weight of a model as bits, in visiting order (the safetensors bytes are not a good
/// comparison: their tensor order may vary).
fn weight_bits(o: &FitOutcome) -> Vec<u32> {
    use burn::module::{Module, ModuleVisitor, Param};
    use burn::tensor::Tensor;
    struct Collect(Vec<u32>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let v = param.val().into_data().try_to_vec::<f32>().unwrap();
            self.0.extend(v.iter().map(|x| x.to_bits()));
        }
    }
    let mut c = Collect(Vec::new());
    o.model.visit(&mut c);
    c.0
}

/// Everything of a run that must not depend on wall-clock time, with floats as bits: weight
/// digest, history (epoch, train loss, validation loss), best epoch, test metrics.
type RunPrint = (String, Vec<(usize, u64, Option<u64>)>, usize, Vec<u64>);

fn fingerprint(o: &FitOutcome) -> RunPrint {
    let h = o
        .report
        .history
        .iter()
        .map(|r: &EpochRecord| {
            (
                r.epoch,
                r.train_loss.to_bits(),
                r.val_loss.map(f64::to_bits),
            )
        })
        .collect();
    let m = o
        .test
        .targets
        .iter()
        .flat_map(|t| {
            [
                t.original.mse.to_bits(),
                t.original.mae.to_bits(),
                t.original.r2.to_bits(),
            ]
        })
        .collect();
    let bits: Vec<u8> = weight_bits(o)
        .iter()
        .flat_map(|b| b.to_le_bytes())
        .collect();
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bits));
    (digest, h, o.report.best_epoch, m)
}

fn run(
    cfg: &ForecastConfig,
    observer: &mut dyn Observer,
    resume: Option<checkpoint::Resume>,
    ck: Option<&mut dyn Checkpointer>,
) -> Result<FitOutcome, TrainError> {
    let f = frame();
    let prepared = pipeline::prepare_frame(&f, cfg)?;
    let device = ts_model::make_device(cfg.device)?;
    pipeline::train_prepared_with(&f, prepared, cfg, &device, observer, resume, ck)
}

fn file_checkpointer(path: &Path, cfg: &ForecastConfig, every: usize) -> FileCheckpointer {
    let f = frame();
    let prepared = pipeline::prepare_frame(&f, cfg).unwrap();
    FileCheckpointer {
        path: path.to_path_buf(),
        every,
        config: cfg.clone(),
        data_fingerprint: pipeline::data_fingerprint(&f, &prepared),
        written: 0,
    }
}

fn cpu() -> burn::tensor::Device {
    ts_model::make_device(ts_model::DeviceChoice::Cpu).unwrap()
}

/// Stops the run before batch `stop_at` (counted over the whole run, from 0).
struct StopAfter {
    batches: Cell<usize>,
    stop_at: usize,
}
impl Observer for StopAfter {
    fn should_stop(&self) -> bool {
        let n = self.batches.get();
        self.batches.set(n + 1);
        n >= self.stop_at
    }
}

#[test]
fn same_seed_gives_bit_identical_weights_and_metrics() {
    let cfg = config();
    let a = run(&cfg, &mut Silent, None, None).unwrap();
    let b = run(&cfg, &mut Silent, None, None).unwrap();
    assert_eq!(fingerprint(&a), fingerprint(&b));
    // A different seed really gives a different model (the comparison can fail).
    let mut other = cfg.clone();
    other.train.seed = 8;
    let c = run(&other, &mut Silent, None, None).unwrap();
    assert_ne!(weight_bits(&a), weight_bits(&c));
}

#[test]
fn resuming_mid_epoch_reaches_the_uninterrupted_result() {
    resume_mid_epoch(&config());
}

#[test]
fn resuming_mid_epoch_with_averaged_weights_reaches_the_uninterrupted_result() {
    let mut cfg = config();
    cfg.train.ema_epochs = 2.0;
    let plain = run(&config(), &mut Silent, None, None).unwrap();
    let averaged = run(&cfg, &mut Silent, None, None).unwrap();
    // The average is what is validated and kept: another history and other weights.
    assert_ne!(fingerprint(&averaged), fingerprint(&plain));
    resume_mid_epoch(&cfg);
}

/// Stops a run twice inside an epoch, resumes it from its checkpoints, and checks that it ends
/// bit-identical to the uninterrupted run.
fn resume_mid_epoch(cfg: &ForecastConfig) {
    let cfg = cfg.clone();
    let full = run(&cfg, &mut Silent, None, None).unwrap();
    let batches_per_epoch = full.prepared.train.n.div_ceil(cfg.train.batch_size);
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join(checkpoint::CHECKPOINT_FILE);
    // Stop before batch 3 of epoch 3; resume and stop again 2 epochs + 1 batch later, before
    // batch 4 of epoch 5.
    for (k, stop_at) in [2 * batches_per_epoch + 3, 2 * batches_per_epoch + 1]
        .into_iter()
        .enumerate()
    {
        let mut ck = file_checkpointer(&path, &cfg, 0);
        let resume = (k > 0).then(|| checkpoint::load(&path, &cpu()).unwrap());
        let mut stop = StopAfter {
            batches: Cell::new(0),
            stop_at,
        };
        let part = run(&cfg, &mut stop, resume, Some(&mut ck)).unwrap();
        assert!(part.report.interrupted);
        assert_eq!(ck.written, 1, "Ctrl-C writes one checkpoint");
    }
    let resume = checkpoint::load(&path, &cpu()).unwrap();
    let p = resume.meta.progress();
    assert_eq!(p.epochs_done, 4);
    assert_eq!(
        p.in_epoch.as_ref().map(|e| (e.epoch, e.next_batch)),
        Some((5, 4))
    );
    let mut ck = file_checkpointer(&path, &cfg, 0);
    let resumed = run(&cfg, &mut Silent, Some(resume), Some(&mut ck)).unwrap();
    assert!(!resumed.report.interrupted);
    assert_eq!(resumed.report.history.len(), cfg.train.epochs);
    assert_eq!(fingerprint(&resumed), fingerprint(&full));
}

#[test]
fn resuming_from_a_periodic_checkpoint_reaches_the_uninterrupted_result() {
    let mut cfg = config();
    // Early stopping and an ensemble as well, so that the stale counter and every member count.
    cfg.train.patience = 3;
    cfg.train.epochs = 12;
    cfg.model.ensemble = 2;
    cfg.train.optimizer = ts_train::OptimizerKind::AdamW;
    cfg.train.weight_decay = 0.01;
    // And the moving average of the weights, which the checkpoints carry.
    cfg.train.ema_epochs = 1.5;
    /// Keeps a copy of every checkpoint.
    struct Keep(FileCheckpointer, Vec<(usize, Vec<u8>)>);
    impl Checkpointer for Keep {
        fn every(&self) -> usize {
            self.0.every
        }
        fn save(&mut self, s: &Snapshot<'_>) -> ts_train::Result<()> {
            self.0.save(s)?;
            let bytes = std::fs::read(&self.0.path).unwrap();
            self.1.push((s.progress.epochs_done, bytes));
            Ok(())
        }
    }
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join(checkpoint::CHECKPOINT_FILE);
    let mut keep = Keep(file_checkpointer(&path, &cfg, 2), Vec::new());
    let full = run(&cfg, &mut Silent, None, Some(&mut keep)).unwrap();
    let epochs: Vec<usize> = keep.1.iter().map(|k| k.0).collect();
    assert!(epochs.len() >= 2, "{epochs:?}");
    assert!(
        epochs
            .iter()
            .all(|e| e % 2 == 0 || *e == full.report.history.len())
    );
    for (epoch, bytes) in &keep.1 {
        write_atomic(&path, bytes).unwrap();
        let resume = checkpoint::load(&path, &cpu()).unwrap();
        assert_eq!(resume.meta.progress().epochs_done, *epoch);
        let resumed = run(&cfg, &mut Silent, Some(resume), None).unwrap();
        assert_eq!(
            fingerprint(&resumed),
            fingerprint(&full),
            "resumed from epoch {epoch}"
        );
        assert_eq!(resumed.report.stopped_early, full.report.stopped_early);
    }
}

#[test]
fn a_damaged_checkpoint_is_refused_with_a_message() {
    let cfg = config();
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join(checkpoint::CHECKPOINT_FILE);
    let mut short = cfg.clone();
    short.train.epochs = 1;
    let mut ck = file_checkpointer(&path, &short, 1);
    run(&short, &mut Silent, None, Some(&mut ck)).unwrap();
    let good = std::fs::read(&path).unwrap();
    assert!(checkpoint::load(&path, &cpu()).is_ok());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", good[..good.len() - 10].to_vec()),
        ("checksum", {
            let mut b = good.clone();
            let i = b.len() / 2;
            b[i] ^= 0x40;
            b
        }),
        ("magic", {
            let mut b = good.clone();
            b[0] = b'X';
            b
        }),
        ("version", {
            let mut b = good.clone();
            b[8] = 9;
            b
        }),
        ("truncated", good[..20].to_vec()),
    ];
    for (what, bytes) in cases {
        std::fs::write(&path, &bytes).unwrap();
        let e = checkpoint::load(&path, &cpu()).unwrap_err().to_string();
        assert!(e.contains("checkpoint"), "{e}");
        assert!(e.contains(what), "{what}: {e}");
    }
    std::fs::remove_file(&path).unwrap();
    let e = checkpoint::load(&path, &cpu()).unwrap_err().to_string();
    assert!(e.contains("no checkpoint"), "{e}");
}

/// A run without averaging writes a version 1 checkpoint (four sections, the layout of builds
/// from before the averaged weights existed), one with averaging version 2; a version 1 file is
/// read without an average, and a damaged one is refused as before.
#[test]
fn a_version_1_checkpoint_is_still_read() {
    let plain = config();
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join(checkpoint::CHECKPOINT_FILE);
    let mut ck = file_checkpointer(&path, &plain, 0);
    let mut stop = StopAfter {
        batches: Cell::new(0),
        stop_at: 3,
    };
    run(&plain, &mut stop, None, Some(&mut ck)).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes[8..12], 1u32.to_le_bytes());
    let resume = checkpoint::load(&path, &cpu()).unwrap();
    assert!(resume.average.is_none());
    let full = run(&plain, &mut Silent, None, None).unwrap();
    let resumed = run(&plain, &mut Silent, Some(resume), None).unwrap();
    assert_eq!(fingerprint(&resumed), fingerprint(&full));

    let mut cfg = config();
    cfg.train.epochs = 2;
    cfg.train.ema_epochs = 1.0;
    let mut ck = file_checkpointer(&path, &cfg, 1);
    let full = run(&cfg, &mut Silent, None, Some(&mut ck)).unwrap();
    let v2 = std::fs::read(&path).unwrap();
    assert_eq!(v2[8..12], 2u32.to_le_bytes());
    let v2_resume = checkpoint::load(&path, &cpu()).unwrap();
    assert!(v2_resume.average.is_some());
    // Rewrite it as version 1: the first four sections, their lengths and their checksum.
    let lens: Vec<usize> = (0..5)
        .map(|i| u64::from_le_bytes(v2[12 + 8 * i..20 + 8 * i].try_into().unwrap()) as usize)
        .collect();
    let head = 8 + 4 + 5 * 8 + 32;
    let body = &v2[head..head + lens[..4].iter().sum::<usize>()];
    let mut v1 = b"TSFCKPT1".to_vec();
    v1.extend_from_slice(&1u32.to_le_bytes());
    for l in &lens[..4] {
        v1.extend_from_slice(&(*l as u64).to_le_bytes());
    }
    v1.extend_from_slice(&<sha2::Sha256 as sha2::Digest>::digest(body));
    v1.extend_from_slice(body);
    std::fs::write(&path, &v1).unwrap();
    let v1_resume = checkpoint::load(&path, &cpu()).unwrap();
    assert!(v1_resume.average.is_none());
    assert_eq!(
        v1_resume.meta.progress().epochs_done,
        v2_resume.meta.progress().epochs_done
    );
    // Rewritten after the last epoch: resuming trains nothing and returns the kept weights.
    let resumed = run(&cfg, &mut Silent, Some(v1_resume), None).unwrap();
    assert_eq!(weight_bits(&resumed), weight_bits(&full));
    let mut bad = v1.clone();
    let i = bad.len() - 3;
    bad[i] ^= 0x10;
    std::fs::write(&path, &bad).unwrap();
    let e = checkpoint::load(&path, &cpu()).unwrap_err().to_string();
    assert!(e.contains("checksum"), "{e}");
}

/// A checkpoint whose network's LSTM reads part of each window resumes when the configuration
/// leaves the rows to the default rule and that rule now gives another value (a checkpoint
/// written by a build with another default): the network's own value is kept, and the run ends
/// where the uninterrupted one does.
#[test]
fn a_resumed_run_keeps_the_rows_its_lstm_reads() {
    let mut cfg = config();
    cfg.model.lstm_window = Some(4);
    let full = run(&cfg, &mut Silent, None, None).unwrap();
    assert_eq!(full.model.config.lstm_window, 4);
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join(checkpoint::CHECKPOINT_FILE);
    let mut ck = file_checkpointer(&path, &cfg, 0);
    let mut stop = StopAfter {
        batches: Cell::new(0),
        stop_at: 5,
    };
    assert!(
        run(&cfg, &mut stop, None, Some(&mut ck))
            .unwrap()
            .report
            .interrupted
    );
    // The default rule reads the whole window of this table (no dates).
    let mut default_rows = cfg.clone();
    default_rows.model.lstm_window = None;
    let resume = checkpoint::load(&path, &cpu()).unwrap();
    let resumed = run(&default_rows, &mut Silent, Some(resume), None).unwrap();
    assert_eq!(resumed.model.config.lstm_window, 4);
    assert_eq!(fingerprint(&resumed), fingerprint(&full));
}
