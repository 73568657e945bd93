//! `tsf train --checkpoint-every K` and `tsf train --resume DIR`: checkpoints while training and
//! continuing from one (the format and the exactness guarantees are in `ts_train::checkpoint`).

use anyhow::{Context, Result, bail};
use ts_data::{Frame, Prepared};
use ts_train::checkpoint::{self, CHECKPOINT_FILE, FileCheckpointer, Resume};
use ts_train::pipeline::{self, FitOutcome};
use ts_train::{ForecastConfig, Observer};

use crate::args::TrainArgs;
use crate::commands::build_config;

/// For `--resume DIR`: loads DIR's checkpoint, points the output at DIR and returns the stored
/// configuration with the checkpoint. Without `--resume`: the configuration from the flags.
pub fn config_and_resume(a: &mut TrainArgs) -> Result<(ForecastConfig, Option<Resume>)> {
    let Some(dir) = a.resume.clone() else {
        return Ok((build_config(a)?, None));
    };
    // Training options would silently disagree with the stored run: refuse them.
    let given = build_config(a)?;
    if serde_json::to_value(&given)? != serde_json::to_value(ForecastConfig::default())? {
        bail!(
            "--resume continues {} with the configuration stored in its checkpoint; drop the other training options (only --checkpoint-every, --quiet and --no-charts apply)",
            dir.display()
        );
    }
    let path = dir.join(CHECKPOINT_FILE);
    // Load on the CPU; training moves the weights to the run's device.
    let cpu = ts_model::make_device(ts_model::DeviceChoice::Cpu)?;
    let resume = checkpoint::load(&path, &cpu)?;
    a.out = dir;
    if a.checkpoint_every.is_none() {
        a.checkpoint_every = Some(resume.meta.every);
    }
    Ok((resume.meta.config.clone(), Some(resume)))
}

/// Fits with a checkpoint file in the output folder (written every `--checkpoint-every` epochs
/// and when Ctrl-C stops the run), continuing from `resume` when given.
pub fn fit(
    frame: &Frame,
    prepared: Prepared,
    cfg: &ForecastConfig,
    observer: &mut dyn Observer,
    a: &TrainArgs,
    resume: Option<Resume>,
) -> Result<FitOutcome> {
    let fingerprint = pipeline::data_fingerprint(frame, &prepared);
    if let Some(r) = &resume
        && r.meta.data_fingerprint != fingerprint
    {
        bail!(
            "{}: the data differ from those the checkpoint in {} was trained on (rows, columns, dates or training values changed)",
            frame.source.display(),
            a.out.display()
        );
    }
    let device = ts_model::make_device(cfg.device)?;
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("{}: cannot create output folder", a.out.display()))?;
    remove_stray_temporaries(&a.out);
    let mut ck = FileCheckpointer {
        path: a.out.join(CHECKPOINT_FILE),
        every: a.checkpoint_every.unwrap_or(0),
        config: cfg.clone(),
        data_fingerprint: fingerprint,
        written: 0,
    };
    Ok(pipeline::train_prepared_with(
        frame,
        prepared,
        cfg,
        &device,
        observer,
        resume,
        Some(&mut ck),
    )?)
}

/// Removes temporary files that a killed process left behind in the run folder (atomic writes
/// go through `.tsf-*.tmp` files, and charts through `<chart>.png.tmp`/`.svg.tmp`, renamed into
/// place; a kill before the rename leaves one).
fn remove_stray_temporaries(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let chart = [".png.tmp", ".svg.tmp"].iter().any(|x| name.ends_with(x));
        if (name.starts_with(".tsf-") && name.ends_with(".tmp")) || chart {
            let _ = std::fs::remove_file(e.path());
        }
    }
}
