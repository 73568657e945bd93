//! `tsf fairness` as one library call (feature `lstm`): [`run_audit`] loads a saved model and a
//! table, forecasts one part of it, audits every grouping and runs the mitigations asked for;
//! [`FairnessRun::write`] writes the typed outputs into a folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use ts_data::{FillPolicy, Frame, LoadOptions, TextTable, load};
use ts_train::Bundle;
use ts_train::pipeline::{self, Part};

use crate::audit::{ForecastSamples, GroupingAudit, audit_grouping, forecast_samples};
use crate::classify::{ExpectedRates, binarise, classification_report, expected_rates};
use crate::error::{FairnessError, Result, invalid};
use crate::groups::{Grouping, SeedGrouping};
use crate::reductions::{
    IterationRecord, ReductionConfig, ReductionConstraint, exponentiated_gradient,
};
use crate::report::{
    BarChartData, BarPanelData, ExpectedSnapshot, FairlearnReport, Skipped, Snapshot,
};
use crate::table::{audit_groupings, numeric_frame};
use crate::threshold::{Constraint, ThresholdOptimizer};

/// Which mitigations to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Mitigation {
    /// Audit only.
    #[default]
    None,
    /// The threshold optimizer (post-processing).
    Threshold,
    /// Exponentiated-gradient retraining.
    Reductions,
    /// Both.
    Both,
}

impl Mitigation {
    fn threshold(self) -> bool {
        matches!(self, Self::Threshold | Self::Both)
    }

    fn reductions(self) -> bool {
        matches!(self, Self::Reductions | Self::Both)
    }
}

/// What `tsf fairness` is asked to do.
#[derive(Debug, Clone, PartialEq)]
pub struct FairnessConfig {
    /// Model file written by `tsf train`.
    pub model: PathBuf,
    /// Table with the model's columns and the group columns (or the columns to make them from).
    pub data: PathBuf,
    /// The seed's groupings (read from their columns when present, else made).
    pub groups: Vec<SeedGrouping>,
    /// Categorical group columns of the table. With `groups`, empty = the seed's five.
    pub group_columns: Vec<String>,
    /// Target to audit (`None`: the model's first).
    pub target: Option<String>,
    /// Threshold binarising actuals and forecasts (`None`: the median of the actuals).
    pub threshold: Option<f64>,
    /// Mitigations to run.
    pub mitigation: Mitigation,
    /// The constraint (the threshold optimizer takes demographic parity or equalized odds).
    pub constraint: ReductionConstraint,
    /// A saved threshold optimizer to apply to the first grouping instead of fitting one.
    pub thresholds: Option<PathBuf>,
    /// Exponentiated-gradient iterations (1 to 50).
    pub iterations: usize,
    /// Epochs per retraining (`None`: the model's).
    pub epochs: Option<usize>,
    /// Allowed violation, or the loss bound's slack (bounded group loss); finite, >= 0.
    pub epsilon: f64,
    /// Seed of the randomised threshold predictions.
    pub seed: u64,
    /// Missing values (`Drop` is refused: group columns must stay aligned with the rows).
    pub fill: FillPolicy,
    /// Which windows to score.
    pub part: Part,
    /// The folder the outputs will be in (named in the report).
    pub out: PathBuf,
}

impl FairnessConfig {
    /// Refuses options that would make every mitigation fail (errors, not "skipped").
    pub fn validate(&self) -> Result<()> {
        if self.mitigation.threshold() && self.threshold_constraint().is_none() {
            return Err(invalid(
                "--constraint",
                format!("{:?}", self.constraint),
                "the threshold optimizer takes demographic_parity or equalized_odds",
            ));
        }
        if let Some(p) = &self.thresholds
            && !self.mitigation.threshold()
        {
            return Err(invalid(
                "--thresholds",
                p.display(),
                "it applies a saved threshold optimizer: add --mitigate threshold (or both)",
            ));
        }
        if self.mitigation.reductions() {
            if !(1..=50).contains(&self.iterations) {
                return Err(invalid(
                    "--iterations",
                    self.iterations,
                    "choose 1 to 50 (each retrains the model once)",
                ));
            }
            if !(self.epsilon.is_finite() && self.epsilon >= 0.0) {
                return Err(invalid(
                    "--epsilon",
                    self.epsilon,
                    "must be a finite number >= 0",
                ));
            }
            if self.epochs == Some(0) {
                return Err(invalid(
                    "--epochs",
                    0,
                    "each retraining needs at least 1 epoch (leave it out for the model's own)",
                ));
            }
        }
        if self.fill == FillPolicy::Drop {
            return Err(invalid(
                "--fill",
                "drop",
                "group columns must stay aligned with the rows; use ffill or interpolate",
            ));
        }
        Ok(())
    }

    fn threshold_constraint(&self) -> Option<Constraint> {
        match self.constraint {
            ReductionConstraint::DemographicParity => Some(Constraint::DemographicParity),
            ReductionConstraint::EqualizedOdds => Some(Constraint::EqualizedOdds),
            ReductionConstraint::BoundedGroupLoss => None,
        }
    }
}

/// What a mitigation produced besides its before/after figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MitigationDetail {
    /// The threshold optimizer.
    Threshold {
        /// The rules.
        optimizer: ThresholdOptimizer,
        /// Fitted here (and where it was saved) or loaded (from where).
        source: String,
        /// Seed of the randomised predictions.
        seed: u64,
        /// fairlearn's report of the one seeded draw.
        after: Box<FairlearnReport>,
        /// The expected rates over all draws.
        expected: Box<ExpectedRates>,
    },
    /// Exponentiated gradient.
    Reductions(Box<ReductionsDetail>),
}

/// The record of one exponentiated-gradient run (`reductions_<grouping>.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReductionsDetail {
    /// Its settings.
    pub config: ReductionConfig,
    /// Seconds it took.
    pub seconds: f64,
    /// The game's history.
    pub iterations: Vec<IterationRecord>,
    /// Mixture weights.
    pub mixture_weights: Vec<f64>,
    /// Why it stopped early, if it did.
    pub stopped: Option<String>,
    /// The member model files.
    pub members: Vec<String>,
    /// The audit of the mixture's forecasts.
    pub after: Box<GroupingAudit>,
}

/// Before/after figures of one mitigation on one grouping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MitigationResult {
    /// "threshold optimizer" or "exponentiated gradient".
    pub method: String,
    /// The grouping.
    pub grouping: String,
    /// The constraint.
    pub constraint: String,
    /// Before.
    pub before: Snapshot,
    /// After (for the threshold optimizer: one seeded draw of its randomised predictions).
    pub after: Snapshot,
    /// The expectation over the randomisation (threshold optimizer; the exponentiated gradient
    /// mixture averages its members' forecasts, so its figures are not random).
    pub expected_after: Option<ExpectedSnapshot>,
    /// Method-specific detail.
    pub detail: MitigationDetail,
}

impl MitigationResult {
    /// The result as text.
    pub fn render(&self) -> String {
        let mut s = format!(
            "Mitigation: {} on {} ({})\n  before: {}\n",
            self.method,
            self.grouping,
            self.constraint,
            self.before.line()
        );
        match (&self.expected_after, &self.detail) {
            (Some(e), MitigationDetail::Threshold { seed, .. }) => {
                s.push_str(&format!(
                    "  after, one random draw (seed {seed}): {}\n  after, expected over the randomisation: {}\n",
                    self.after.line(),
                    e.line()
                ));
            }
            _ => s.push_str(&format!("  after:  {}\n", self.after.line())),
        }
        if let MitigationDetail::Reductions(d) = &self.detail
            && let Some(why) = &d.stopped
        {
            s.push_str(&format!("  {why}\n"));
        }
        s
    }
}

/// A grouping left out of the audit (fewer than two of its groups have forecasts in the part).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedGrouping {
    /// The grouping.
    pub grouping: String,
    /// Why.
    pub reason: String,
}

/// The report written as `fairness_report.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FairnessReport {
    /// The model file.
    pub model: PathBuf,
    /// The table.
    pub data: PathBuf,
    /// The part of the table scored.
    pub part: Part,
    /// Its rows `[from, to)` (0-based).
    pub rows: (usize, usize),
    /// The target audited.
    pub target: String,
    /// Forecast values scored.
    pub forecasts: usize,
    /// One audit per grouping.
    pub groupings: Vec<GroupingAudit>,
    /// Groupings that could not be audited on this part.
    pub groupings_skipped: Vec<SkippedGrouping>,
    /// Mitigation results.
    pub mitigation: Vec<MitigationResult>,
    /// Mitigations that could not run on a grouping.
    pub mitigation_skipped: Vec<Skipped>,
}

impl FairnessReport {
    /// The report as text: what was scored, each grouping's audit, skipped groupings, each
    /// mitigation's before/after figures and skipped mitigations.
    pub fn render(&self) -> String {
        let mut s = format!(
            "Model {} on {}: {} forecasts of {} in the {} part (rows {}..{})\n",
            self.model.display(),
            self.data.display(),
            self.forecasts,
            self.target,
            self.part.name(),
            self.rows.0,
            self.rows.1
        );
        for g in &self.groupings {
            s.push_str(&format!("\n{}", g.render()));
        }
        for g in &self.groupings_skipped {
            s.push_str(&format!(
                "\nGrouping {} skipped: {}\n",
                g.grouping, g.reason
            ));
        }
        for m in &self.mitigation {
            s.push_str(&format!("\n{}", m.render()));
        }
        for m in &self.mitigation_skipped {
            s.push_str(&format!(
                "\nMitigation: {} on {} skipped: {}\n",
                m.method, m.grouping, m.reason
            ));
        }
        s
    }

    /// The charts of the report: per grouping, R² and RMSE by group
    /// (`fairness_<grouping>_regression`) and selection rate, TPR and FPR by group
    /// (`fairness_<grouping>_rates`); with mitigations, before and after
    /// (`fairness_mitigation`).
    pub fn charts(&self) -> Vec<BarChartData> {
        let mut out: Vec<BarChartData> = self.groupings.iter().flat_map(grouping_charts).collect();
        let ms = &self.mitigation;
        if ms.is_empty() {
            return out;
        }
        let short = |m: &str| {
            if m.starts_with("threshold") {
                "TO"
            } else {
                "EG"
            }
        };
        let cats: Vec<String> = ms
            .iter()
            .map(|m| {
                format!(
                    "{} {}",
                    m.grouping.trim_end_matches("_Group"),
                    short(&m.method)
                )
            })
            .collect();
        let both = |title: &str, f: fn(&Snapshot) -> f64| {
            let before = ms.iter().map(|m| f(&m.before)).collect();
            let after = ms.iter().map(|m| f(&m.after)).collect();
            BarPanelData::new(
                title,
                &cats,
                vec![("before".into(), before), ("after".into(), after)],
            )
        };
        let mut panels = vec![
            both("DP difference", |s| s.demographic_parity_difference),
            both("EO difference", |s| s.equalized_odds_difference),
            both("accuracy", |s| s.accuracy),
        ];
        if ms.iter().any(|m| m.after.rmse.is_some()) {
            panels.push(both("RMSE", |s| s.rmse.unwrap_or(f64::NAN)));
        }
        out.push(BarChartData {
            stem: "fairness_mitigation".into(),
            title: "Before and after mitigation".into(),
            panels,
        });
        out
    }

    /// fairlearn's report per grouping (`fairlearn_evaluation_report.json`).
    pub fn fairlearn(&self) -> BTreeMap<String, FairlearnReport> {
        self.groupings
            .iter()
            .map(|a| {
                (
                    a.grouping.clone(),
                    FairlearnReport::of(&a.classification, Some(a.threshold)),
                )
            })
            .collect()
    }
}

/// R² and RMSE by group, and selection rate, TPR and FPR by group, of one grouping.
fn grouping_charts(a: &GroupingAudit) -> [BarChartData; 2] {
    let (g, c) = (&a.regression, &a.classification);
    let cats: Vec<String> = g.by_group.iter().map(|x| x.group.clone()).collect();
    let m = |f: fn(&ts_train::Metrics) -> f64| -> Vec<f64> {
        g.by_group.iter().map(|x| f(&x.metrics)).collect()
    };
    let mut r2 = BarPanelData::new("R² by group", &cats, vec![("R²".into(), m(|m| m.r2))]);
    r2.y_label = "R²".into();
    r2.reference = Some((g.overall.r2, "overall".into()));
    let rmse = vec![("RMSE".into(), m(|m| m.rmse))];
    let mut rmse = BarPanelData::new("RMSE by group", &cats, rmse);
    rmse.y_label = "RMSE (original units)".into();
    rmse.reference = Some((g.overall.rmse, "overall".into()));
    let regression = BarChartData {
        stem: format!("fairness_{}_regression", file_part(&a.grouping)),
        title: format!("{}: {} by group", a.grouping, a.target),
        panels: vec![r2, rmse],
    };
    let cats: Vec<String> = c.by_group.iter().map(|x| x.group.clone()).collect();
    let r = |f: fn(&crate::Rates) -> f64| -> Vec<f64> {
        c.by_group.iter().map(|x| f(&x.rates)).collect()
    };
    let series = vec![
        ("selection rate".into(), r(|r| r.selection_rate)),
        ("TPR".into(), r(|r| r.tpr)),
        ("FPR".into(), r(|r| r.fpr)),
    ];
    let mut rates = BarPanelData::new("Selection rate, TPR and FPR by group", &cats, series);
    rates.y_label = "rate".into();
    let rates = BarChartData {
        stem: format!("fairness_{}_rates", file_part(&a.grouping)),
        title: format!("{}: forecasts above {:.4}", a.grouping, a.threshold),
        panels: vec![rates],
    };
    [regression, rates]
}

/// Everything [`run_audit`] produced: the report and the files that go with it.
pub struct FairnessRun {
    /// The report.
    pub report: FairnessReport,
    /// Fitted threshold optimizers (file name, optimizer).
    pub optimizers: Vec<(String, ThresholdOptimizer)>,
    /// Exponentiated-gradient runs.
    pub reductions: Vec<ReductionFiles>,
}

/// The files of one exponentiated-gradient run.
pub struct ReductionFiles {
    /// File name of the record (`reductions_<grouping>.json`).
    pub file: String,
    /// The record.
    pub detail: ReductionsDetail,
    /// The member models with their file names.
    pub members: Vec<(String, Bundle)>,
}

/// A grouping name as part of a file name: characters other than letters, digits, `_`, `-` and
/// `.` become `_` (a group column may be named `a/b`).
pub fn file_part(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Whether `name` is one of the files `tsf fairness` writes into its folder: the two reports, the
/// threshold optimizers, the reductions records and their member models, and the charts
/// (`fairness_*`, PNG and SVG).
pub fn is_report_file(name: &str) -> bool {
    let charts =
        name.starts_with("fairness_") && (name.ends_with(".png") || name.ends_with(".svg"));
    let optimizer = name.starts_with("threshold_optimizer_") && name.ends_with(".json");
    let reductions =
        name.starts_with("reductions_") && (name.ends_with(".json") || name.ends_with(".tsf"));
    charts
        || optimizer
        || reductions
        || name == "fairness_report.json"
        || name == "fairlearn_evaluation_report.json"
}

/// Refuses an output path that is not a folder, and an existing non-empty folder unless `force`
/// (a new run never mixes its files with an old run's). With `force`, the new report's files
/// replace the old ones and an old report's files that the new one does not write
/// ([`is_report_file`]) are removed; any other file in the folder stays.
pub fn check_output_folder(out: &Path, force: bool) -> Result<()> {
    if out.exists() && !out.is_dir() {
        return Err(FairnessError::Io {
            path: out.to_path_buf(),
            message: "output path exists and is not a folder".into(),
        });
    }
    let non_empty = std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_some());
    if non_empty && !force {
        return Err(FairnessError::Io {
            path: out.to_path_buf(),
            message: "output folder already exists and is not empty; use --force to replace the report in it or choose another --out".into(),
        });
    }
    Ok(())
}

/// Refuses an output folder in which one of the inputs (the model, the table) is a file the
/// report writes or removes there ([`is_report_file`]: a reductions member model audited from an
/// earlier report's folder): writing the report would replace or remove it.
pub fn check_inputs_outside(out: &Path, inputs: &[&Path]) -> Result<()> {
    let Ok(folder) = out.canonicalize() else {
        return Ok(());
    };
    for input in inputs {
        let Ok(path) = input.canonicalize() else {
            continue;
        };
        let owned = path.parent() == Some(folder.as_path())
            && path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(is_report_file);
        if owned {
            return Err(FairnessError::Io {
                path: out.to_path_buf(),
                message: format!(
                    "the input {} is one of the files a fairness report writes in this folder, which writing it would replace or remove; choose another --out",
                    input.display()
                ),
            });
        }
    }
    Ok(())
}

/// Extra files written next to the report (charts), given the folder.
pub type ExtraFiles<'a> =
    dyn FnOnce(&Path) -> std::result::Result<(), Box<dyn std::error::Error>> + 'a;

impl FairnessRun {
    /// Writes everything ([`FairnessRun::write`] and `extra`) into a staging folder in `out`,
    /// then moves the files into place (see [`check_output_folder`] and
    /// [`ts_train::output::Staging`]): nothing in `out` changes if anything fails; once the new
    /// report is in place, an earlier report's files it did not write again are removed. Other
    /// files in `out` stay, and `out` may be the current folder or a link to one.
    pub fn write_replacing(
        &self,
        out: &Path,
        force: bool,
        extra: Box<ExtraFiles<'_>>,
    ) -> Result<()> {
        check_output_folder(out, force)?;
        let stale = ts_train::output::StaleFiles::note(out, is_report_file);
        let staging = ts_train::output::Staging::new(out)?;
        self.write(staging.dir())?;
        extra(staging.dir()).map_err(|e| FairnessError::Io {
            path: out.to_path_buf(),
            message: e.to_string(),
        })?;
        staging.commit()?;
        stale.remove_untouched();
        Ok(())
    }

    /// Writes `fairness_report.json`, `fairlearn_evaluation_report.json`, the threshold
    /// optimizers, the reductions records and their member models into `dir` (which must exist).
    pub fn write(&self, dir: &Path) -> Result<()> {
        ts_train::run::write_json(&dir.join("fairness_report.json"), &self.report)?;
        ts_train::run::write_json(
            &dir.join("fairlearn_evaluation_report.json"),
            &self.report.fairlearn(),
        )?;
        for (file, o) in &self.optimizers {
            o.save(&dir.join(file))?;
        }
        for r in &self.reductions {
            ts_train::run::write_json(&dir.join(&r.file), &r.detail)?;
            for (name, b) in &r.members {
                ts_model::file::save(&dir.join(name), &b.model, &b.header)?;
            }
        }
        Ok(())
    }
}

/// `tsf fairness`: loads the model and the table, forecasts the windows of `cfg.part`, audits
/// every grouping (a grouping of which fewer than two groups have forecasts in the part is
/// skipped and reported, unless no grouping is left) and runs the mitigations.
///
/// # Errors
/// Bad options, unreadable files, a table without the model's columns, unknown groupings or
/// targets, a threshold outside the actuals, or a saved threshold optimizer that does not fit the
/// first grouping.
pub fn run_audit(cfg: &FairnessConfig) -> Result<FairnessRun> {
    cfg.validate()?;
    let saved = cfg
        .thresholds
        .as_deref()
        .map(ThresholdOptimizer::load)
        .transpose()?;
    let (bundle, frame, groupings) = load_inputs(cfg)?;
    let samples = forecast_samples(&bundle, &frame, cfg.target.as_deref(), cfg.part)?;
    let (audited, groupings_skipped) = audit_all(cfg, &samples, &groupings)?;
    let mut run = FairnessRun {
        report: FairnessReport {
            model: cfg.model.clone(),
            data: cfg.data.clone(),
            part: cfg.part,
            rows: bundle.part_rows(cfg.part, frame.n_rows()),
            target: samples.target.clone(),
            forecasts: samples.len(),
            groupings: Vec::new(),
            groupings_skipped,
            mitigation: Vec::new(),
            mitigation_skipped: Vec::new(),
        },
        optimizers: Vec::new(),
        reductions: Vec::new(),
    };
    if cfg.mitigation.threshold() {
        for (i, (g, audit)) in audited.iter().enumerate() {
            let loaded = if i == 0 { saved.as_ref() } else { None };
            match threshold_mitigation(cfg, &samples, audit, g, loaded) {
                Ok((m, fitted)) => {
                    run.optimizers.extend(fitted);
                    run.report.mitigation.push(m);
                }
                // A saved optimizer that does not fit the data is the user's error.
                Err(e) if loaded.is_some() => return Err(e),
                Err(e) => run
                    .report
                    .mitigation_skipped
                    .push(skipped("threshold optimizer", g, e)),
            }
        }
    }
    if cfg.mitigation.reductions() {
        for (g, audit) in &audited {
            match reductions(cfg, &bundle, &frame, g, audit) {
                Ok((m, files)) => {
                    run.reductions.push(files);
                    run.report.mitigation.push(m);
                }
                Err(e) => {
                    run.report
                        .mitigation_skipped
                        .push(skipped("exponentiated gradient", g, e))
                }
            }
        }
    }
    run.report.groupings = audited.into_iter().map(|(_, a)| a).collect();
    Ok(run)
}

fn skipped(method: &str, g: &Grouping, e: FairnessError) -> Skipped {
    Skipped {
        method: method.into(),
        grouping: g.name.clone(),
        reason: e.to_string(),
    }
}

/// The model, the table's rows as a frame of the model's columns, and the groupings.
fn load_inputs(cfg: &FairnessConfig) -> Result<(Bundle, Frame, Vec<Grouping>)> {
    let bundle = pipeline::load_model(&cfg.model)?;
    let time_column = bundle.config.data.time_column.clone();
    let table = TextTable::read(&cfg.data)?;
    let frame = load(
        &cfg.data,
        &LoadOptions {
            time_column: time_column.clone(),
            columns: Some(bundle.table_columns()),
            fill: cfg.fill,
        },
    )?;
    if frame.n_rows() != table.n_rows() {
        return Err(FairnessError::Io {
            path: cfg.data.clone(),
            message: "rows were dropped while loading; group columns cannot be aligned".into(),
        });
    }
    let groupings = audit_groupings(&table, &cfg.groups, &cfg.group_columns, || {
        numeric_frame(&table, time_column.clone(), cfg.fill)
    })?;
    Ok((bundle, frame, groupings))
}

type Audited<'g> = Vec<(&'g Grouping, GroupingAudit)>;

/// Audits every grouping; one with fewer than two groups in the part is skipped, unless none is
/// left.
fn audit_all<'g>(
    cfg: &FairnessConfig,
    samples: &ForecastSamples,
    groupings: &'g [Grouping],
) -> Result<(Audited<'g>, Vec<SkippedGrouping>)> {
    let mut audited = Vec::new();
    let mut skipped = Vec::new();
    let mut first_error = None;
    for g in groupings {
        match audit_grouping(samples, g, cfg.threshold) {
            Ok(a) => audited.push((g, a)),
            Err(e @ FairnessError::SingleGroup { .. }) => {
                skipped.push(SkippedGrouping {
                    grouping: g.name.clone(),
                    reason: format!("in the {} part, {e}", cfg.part.name()),
                });
                first_error.get_or_insert(e);
            }
            Err(e) => return Err(e),
        }
    }
    match first_error {
        Some(e) if audited.is_empty() => Err(e),
        _ => Ok((audited, skipped)),
    }
}

fn before(audit: &GroupingAudit) -> Snapshot {
    let s = &audit.regression;
    Snapshot::of(
        &audit.classification,
        Some(s.overall.rmse),
        Some(s.summary.worst_group_rmse),
    )
}

type Fitted = Option<(String, ThresholdOptimizer)>;

fn threshold_mitigation(
    cfg: &FairnessConfig,
    samples: &ForecastSamples,
    audit: &GroupingAudit,
    grouping: &Grouping,
    loaded: Option<&ThresholdOptimizer>,
) -> Result<(MitigationResult, Fitted)> {
    let labels = samples.labels(grouping)?;
    let y_true = binarise(&samples.actual, audit.threshold);
    let (opt, source, fitted) = match (loaded, cfg.thresholds.as_deref()) {
        (Some(o), Some(p)) => {
            if let Some(t) = o.target.as_deref().filter(|t| *t != samples.target) {
                return Err(FairnessError::Io {
                    path: p.to_path_buf(),
                    message: format!(
                        "this threshold optimizer was fitted on the forecasts of {t:?}; its \
                         thresholds are in that column's units, and this audit is of {:?} \
                         (--target {t:?}, or fit one with --mitigate threshold)",
                        samples.target
                    ),
                });
            }
            (o.clone(), format!("loaded from {}", p.display()), None)
        }
        _ => {
            let constraint = cfg
                .threshold_constraint()
                .unwrap_or(Constraint::DemographicParity);
            let mut o =
                ThresholdOptimizer::fit(&samples.predicted, &y_true, &labels, constraint, 1000)?;
            o.target = Some(samples.target.clone());
            let file = format!("threshold_optimizer_{}.json", file_part(&grouping.name));
            let source = format!(
                "fitted on these forecasts, saved to {}",
                cfg.out.join(&file).display()
            );
            (o.clone(), source, Some((file, o)))
        }
    };
    let y_after = opt.predict(&samples.predicted, &labels, cfg.seed)?;
    let after = classification_report(&y_true, &y_after, &labels)?;
    let expected = expected_rates(
        &y_true,
        &opt.probabilities(&samples.predicted, &labels)?,
        &labels,
    )?;
    Ok((
        MitigationResult {
            method: "threshold optimizer".into(),
            grouping: grouping.name.clone(),
            constraint: format!("{:?}", opt.constraint),
            before: before(audit),
            after: Snapshot::of(&after, None, None),
            expected_after: Some(ExpectedSnapshot::of(&expected)),
            detail: MitigationDetail::Threshold {
                optimizer: opt,
                source,
                seed: cfg.seed,
                after: Box::new(FairlearnReport::of(&after, None)),
                expected: Box::new(expected),
            },
        },
        fitted,
    ))
}

/// Exponentiated-gradient retraining on one grouping: the mixture's forecasts are the weighted
/// mean of its members'.
fn reductions(
    cfg: &FairnessConfig,
    bundle: &Bundle,
    frame: &Frame,
    grouping: &Grouping,
    audit: &GroupingAudit,
) -> Result<(MitigationResult, ReductionFiles)> {
    let mut rc = ReductionConfig::new(cfg.constraint, audit.threshold);
    rc.iterations = cfg.iterations;
    rc.epsilon = cfg.epsilon;
    if cfg.epsilon > 0.0 {
        rc.bound = 1.0 / cfg.epsilon;
    }
    rc.epochs = cfg.epochs;
    let t0 = std::time::Instant::now();
    let outcome = exponentiated_gradient(
        frame,
        &bundle.retrain_config(),
        grouping,
        &rc,
        Some(&audit.target),
    )?;
    let seconds = t0.elapsed().as_secs_f64();
    let mut mixture: Option<ForecastSamples> = None;
    let mut members = Vec::new();
    for k in 0..outcome.models.len() {
        let member = outcome.member_bundle(bundle, k);
        let s = forecast_samples(&member, frame, Some(&audit.target), cfg.part)?;
        let w = outcome.weights[k];
        mixture = Some(match mixture {
            None => ForecastSamples {
                predicted: s.predicted.iter().map(|p| w * p).collect(),
                ..s
            },
            Some(mut m) => {
                for (x, p) in m.predicted.iter_mut().zip(&s.predicted) {
                    *x += w * p;
                }
                m
            }
        });
        members.push((
            format!(
                "reductions_{}_member{}.tsf",
                file_part(&grouping.name),
                k + 1
            ),
            member,
        ));
    }
    let mixture = mixture.ok_or_else(|| invalid("iterations", 0, "no model was trained"))?;
    let after = audit_grouping(&mixture, grouping, Some(audit.threshold))?;
    let detail = ReductionsDetail {
        config: rc,
        seconds,
        iterations: outcome.iterations,
        mixture_weights: outcome.weights,
        stopped: outcome.stopped,
        members: members
            .iter()
            .map(|(f, _)| cfg.out.join(f).display().to_string())
            .collect(),
        after: Box::new(after),
    };
    let result = MitigationResult {
        method: "exponentiated gradient".into(),
        grouping: grouping.name.clone(),
        constraint: format!("{:?}", detail.config.constraint),
        before: before(audit),
        after: Snapshot::of(
            &detail.after.classification,
            Some(detail.after.regression.overall.rmse),
            Some(detail.after.regression.summary.worst_group_rmse),
        ),
        expected_after: None,
        detail: MitigationDetail::Reductions(Box::new(detail.clone())),
    };
    Ok((
        result,
        ReductionFiles {
            file: format!("reductions_{}.json", file_part(&grouping.name)),
            detail,
            members,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty_run() -> FairnessRun {
        FairnessRun {
            report: FairnessReport {
                model: "m.tsf".into(),
                data: "d.csv".into(),
                part: Part::Test,
                rows: (8, 10),
                target: "y".into(),
                forecasts: 0,
                groupings: Vec::new(),
                groupings_skipped: Vec::new(),
                mitigation: Vec::new(),
                mitigation_skipped: Vec::new(),
            },
            optimizers: Vec::new(),
            reductions: Vec::new(),
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn file_names_from_grouping_names() {
        assert_eq!(file_part("Economic_Group"), "Economic_Group");
        assert_eq!(file_part("a/b c"), "a_b_c");
    }

    /// An old report folder is refused without `force`; with it, the new report replaces the
    /// old one's files (those it does not write again go), a file the report did not write
    /// stays, and a run that fails while writing leaves the folder as it was.
    #[test]
    fn output_folder_is_replaced_whole_or_kept() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("report");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("fairness_report.json"), "old").unwrap();
        std::fs::write(out.join("fairness_x_rates.png"), "old").unwrap();
        std::fs::write(out.join("model.tsf"), "the model audited").unwrap();
        let run = empty_run();
        let e = run
            .write_replacing(&out, false, Box::new(|_| Ok(())))
            .unwrap_err()
            .to_string();
        assert!(e.contains("--force"), "{e}");
        let e = run
            .write_replacing(&out, true, Box::new(|_| Err("chart failed".into())))
            .unwrap_err()
            .to_string();
        assert!(e.contains("chart failed"), "{e}");
        assert_eq!(
            names(&out),
            ["fairness_report.json", "fairness_x_rates.png", "model.tsf"]
        );
        assert_eq!(
            std::fs::read_to_string(out.join("fairness_report.json")).unwrap(),
            "old"
        );
        // An input that is one of the report's files is refused; others are fine.
        let e = check_inputs_outside(&out, &[&out.join("fairness_report.json")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("replace or remove"), "{e}");
        assert!(check_inputs_outside(&out, &[&out.join("model.tsf"), d.path()]).is_ok());
        run.write_replacing(
            &out,
            true,
            Box::new(|dir: &Path| {
                std::fs::write(dir.join("chart.svg"), "<svg/>")?;
                Ok(())
            }),
        )
        .unwrap();
        assert_eq!(
            names(&out),
            [
                "chart.svg",
                "fairlearn_evaluation_report.json",
                "fairness_report.json",
                "model.tsf"
            ]
        );
        assert_eq!(names(d.path()), ["report"]);
        let r: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join("fairness_report.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(r["part"], "test");
        let new = d.path().join("new/deeper");
        run.write_replacing(&new, false, Box::new(|_| Ok(())))
            .unwrap();
        assert!(new.join("fairness_report.json").is_file());
    }
}
