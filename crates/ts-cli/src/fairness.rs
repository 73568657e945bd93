//! `tsf groups` and `tsf fairness`: parse flags, call ts-fairness (`make_groups`, `run_audit`),
//! print the results and write the typed outputs and charts.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use ts_data::FillPolicy;
use ts_fairness::reductions::ReductionConstraint;
use ts_fairness::run::{FairnessConfig, FairnessRun, Mitigation};
use ts_fairness::table::{GroupMaker, GroupsConfig, default_groups_path, make_groups};
use ts_fairness::{GroupingAudit, SeedGrouping, Snapshot};
use ts_train::pipeline::Part;

use crate::commands::{check_output, write};

/// Missing values (rows cannot be dropped: group columns must stay aligned with the rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Fill {
    /// Refuse missing values.
    Error,
    /// Carry the last value forward.
    Ffill,
    /// Interpolate linearly.
    Interpolate,
}

/// The table and the seed groupings, shared by `tsf groups` and `tsf fairness`.
#[derive(Debug, Args)]
pub struct GroupSource {
    /// Data file, CSV or Parquet.
    #[arg(long)]
    pub data: PathBuf,
    /// The seed's groupings: economic, inflation, combined, time, risk (comma-separated). Default:
    /// all five unless another grouping is given. `tsf fairness` reads a grouping from its column
    /// (e.g. `Economic_Group`) when the data has it, else makes it.
    #[arg(long, value_delimiter = ',', value_parser = |s: &str| s.parse::<SeedGrouping>())]
    pub groups: Vec<SeedGrouping>,
    /// Missing values.
    #[arg(long, value_enum, default_value_t = Fill::Error)]
    pub fill: Fill,
}

impl GroupSource {
    fn fill(&self) -> FillPolicy {
        match self.fill {
            Fill::Error => FillPolicy::Error,
            Fill::Ffill => FillPolicy::Ffill,
            Fill::Interpolate => FillPolicy::Interpolate,
        }
    }
}

/// `tsf groups`: add group columns to a table.
#[derive(Debug, Args)]
pub struct GroupsArgs {
    #[command(flatten)]
    pub source: GroupSource,
    /// Output CSV with the group columns added (default: `<data stem>_groups.csv` beside the data).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Where to write the summary (default: `fairness_groups_summary.json` beside the output).
    #[arg(long)]
    pub summary: Option<PathBuf>,
    /// Median split of a column (A = high, B = low): `COLUMN` or `COLUMN=NAME`; may repeat.
    #[arg(long, value_parser = |s: &str| GroupMaker::median(s))]
    pub median: Vec<GroupMaker>,
    /// Cross of two median splits (A-D = high/high, high/low, low/high, low/low):
    /// `COL1,COL2` or `COL1,COL2=NAME`; may repeat.
    #[arg(long, value_parser = |s: &str| GroupMaker::cross(s))]
    pub cross: Vec<GroupMaker>,
    /// Date eras from cut dates: `DATE,DATE,...` or `DATE,...=NAME` (A = before the first cut).
    #[arg(long, value_parser = |s: &str| GroupMaker::eras(s))]
    pub eras: Vec<GroupMaker>,
    /// Quantile bins: `COLUMN:N` or `COLUMN:N=NAME` (Q1 = lowest).
    #[arg(long, value_parser = |s: &str| GroupMaker::quantiles(s))]
    pub quantiles: Vec<GroupMaker>,
    /// Time column (default: detected).
    #[arg(long)]
    pub time_column: Option<String>,
}

/// Mitigation methods.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MitigateArg {
    /// Audit only.
    None,
    /// Threshold optimizer.
    Threshold,
    /// Exponentiated-gradient retraining.
    Reductions,
    /// Both.
    Both,
}

/// Mitigation constraints.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ConstraintArg {
    /// Equal selection rates.
    #[value(name = "demographic_parity", alias = "dp")]
    DemographicParity,
    /// Equal TPR and FPR.
    #[value(name = "equalized_odds", alias = "eo")]
    EqualizedOdds,
    /// No group's loss above a bound (reductions only).
    #[value(name = "bounded_group_loss", alias = "bgl")]
    BoundedGroupLoss,
}

/// Parts of a table.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PartArg {
    /// Rows the model never saw.
    Test,
    /// Validation rows.
    Validation,
    /// Training rows.
    Train,
    /// Every window.
    All,
}

/// `tsf fairness`: audit a saved model across groups, and optionally mitigate.
#[derive(Debug, Args)]
pub struct FairnessArgs {
    /// Model file written by `tsf train`.
    #[arg(long)]
    pub model: PathBuf,
    #[command(flatten)]
    pub source: GroupSource,
    /// An existing categorical group column of the data; may repeat.
    #[arg(long)]
    pub group_column: Vec<String>,
    /// Which windows to score (the model's split when the file has as many rows as its training
    /// data, else the configured fractions of this file).
    #[arg(long, value_enum, default_value_t = PartArg::Test)]
    pub part: PartArg,
    /// Target to audit (default: the model's first target).
    #[arg(long)]
    pub target: Option<String>,
    /// Threshold in original units that binarises actuals and forecasts (value > threshold is
    /// positive; default: the median of the actuals).
    #[arg(long, allow_negative_numbers = true)]
    pub threshold: Option<f64>,
    /// Mitigation.
    #[arg(long, value_enum, default_value_t = MitigateArg::None)]
    pub mitigate: MitigateArg,
    /// Constraint (bounded_group_loss: reductions only).
    #[arg(long, value_enum, default_value_t = ConstraintArg::DemographicParity)]
    pub constraint: ConstraintArg,
    /// Apply a saved threshold optimizer (JSON) to the first grouping instead of fitting one.
    #[arg(long)]
    pub thresholds: Option<PathBuf>,
    /// Exponentiated-gradient iterations (each retrains the model once).
    #[arg(long, default_value_t = 3)]
    pub iterations: usize,
    /// Epochs per retraining (default: the model's own setting).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Allowed constraint violation, or the loss bound as a multiple of the overall MSE.
    #[arg(long, default_value_t = 0.01, allow_negative_numbers = true)]
    pub epsilon: f64,
    /// Seed of the randomised threshold predictions.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output folder.
    #[arg(long, default_value = "fairness-report")]
    pub out: PathBuf,
    /// Replace an existing output folder (the old one is kept if the new run fails).
    #[arg(long)]
    pub force: bool,
    /// Skip the charts.
    #[arg(long)]
    pub no_charts: bool,
}

/// `tsf groups`.
pub fn groups(a: GroupsArgs) -> Result<()> {
    let mut makers: Vec<GroupMaker> = a
        .source
        .groups
        .iter()
        .map(|s| GroupMaker::Seed(*s))
        .collect();
    makers.extend(
        a.median
            .into_iter()
            .chain(a.cross)
            .chain(a.eras)
            .chain(a.quantiles),
    );
    let data = a.source.data.clone();
    let made = make_groups(&GroupsConfig {
        data: data.clone(),
        makers,
        time_column: a.time_column,
        fill: a.source.fill(),
    })?;
    let out = a.out.unwrap_or_else(|| default_groups_path(&data));
    let summary = a.summary.unwrap_or_else(|| {
        out.parent()
            .unwrap_or(Path::new("."))
            .join("fairness_groups_summary.json")
    });
    check_output(&out, &[&data])?;
    check_output(&summary, &[&data, &out])?;
    if let Some(dir) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create folder", dir.display()))?;
    }
    write(&out, made.csv()?.as_bytes())?;
    write(
        &summary,
        serde_json::to_string_pretty(&made.summary)?.as_bytes(),
    )?;
    println!("Loaded {}: {} rows", data.display(), made.table.n_rows());
    for g in &made.groupings {
        println!("{} ({}):", g.name, g.description);
        for x in &g.groups {
            println!(
                "  {:<4} {:>5} rows  {:>5.1} %  {}",
                x.label,
                x.count,
                100.0 * x.share,
                x.description
            );
        }
    }
    println!("Wrote {} and {}", out.display(), summary.display());
    Ok(())
}

/// `tsf fairness`.
pub fn fairness(a: FairnessArgs) -> Result<()> {
    let cfg = FairnessConfig {
        model: a.model.clone(),
        data: a.source.data.clone(),
        groups: a.source.groups.clone(),
        group_columns: a.group_column.clone(),
        target: a.target.clone(),
        threshold: a.threshold,
        mitigation: match a.mitigate {
            MitigateArg::None => Mitigation::None,
            MitigateArg::Threshold => Mitigation::Threshold,
            MitigateArg::Reductions => Mitigation::Reductions,
            MitigateArg::Both => Mitigation::Both,
        },
        constraint: match a.constraint {
            ConstraintArg::DemographicParity => ReductionConstraint::DemographicParity,
            ConstraintArg::EqualizedOdds => ReductionConstraint::EqualizedOdds,
            ConstraintArg::BoundedGroupLoss => ReductionConstraint::BoundedGroupLoss,
        },
        thresholds: a.thresholds.clone(),
        iterations: a.iterations,
        epochs: a.epochs,
        epsilon: a.epsilon,
        seed: a.seed,
        fill: a.source.fill(),
        part: match a.part {
            PartArg::Test => Part::Test,
            PartArg::Validation => Part::Validation,
            PartArg::Train => Part::Train,
            PartArg::All => Part::All,
        },
        out: a.out.clone(),
    };
    cfg.validate()?;
    check_out_folder(&a.out, a.force)?;
    let run = ts_fairness::run_audit(&cfg)?;
    let r = &run.report;
    println!(
        "Model {} on {}: {} forecasts of {} in the {} part (rows {}..{})",
        a.model.display(),
        a.source.data.display(),
        r.forecasts,
        r.target,
        r.part.name(),
        r.rows.0,
        r.rows.1
    );
    for g in &r.groupings {
        print!("\n{}", g.render());
    }
    for s in &r.groupings_skipped {
        println!("\nGrouping {} skipped: {}", s.grouping, s.reason);
    }
    for m in &r.mitigation {
        print!("\n{}", m.render());
    }
    for s in &r.mitigation_skipped {
        println!(
            "\nMitigation: {} on {} skipped: {}",
            s.method, s.grouping, s.reason
        );
    }
    let staging = sibling(&a.out, "partial");
    let result =
        write_outputs(&run, &staging, !a.no_charts).and_then(|()| swap_in(&staging, &a.out));
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result?;
    println!("\nWrote {}", a.out.display());
    Ok(())
}

/// An existing output folder is replaced only with `--force`, and only as a whole.
fn check_out_folder(out: &Path, force: bool) -> Result<()> {
    if out.exists() && !out.is_dir() {
        bail!("{}: output path exists and is not a folder", out.display());
    }
    let non_empty = std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_some());
    if non_empty && !force {
        bail!(
            "{}: output folder already exists and is not empty; use --force to replace it or choose another --out",
            out.display()
        );
    }
    Ok(())
}

/// `<out>.<what>-<pid>` beside `out`.
fn sibling(out: &Path, what: &str) -> PathBuf {
    let name = out.file_name().map_or_else(
        || "fairness-report".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    out.with_file_name(format!(".{name}.{what}-{}", std::process::id()))
}

fn write_outputs(run: &FairnessRun, dir: &Path, charts: bool) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create output folder", dir.display()))?;
    run.write(dir)?;
    if charts {
        draw_charts(dir, run)?;
    }
    Ok(())
}

/// Moves the staged folder to `out`; an old `out` is removed only once the new one is in place.
fn swap_in(staging: &Path, out: &Path) -> Result<()> {
    let old = sibling(out, "old");
    let had_old = out.exists();
    if had_old {
        std::fs::rename(out, &old)
            .with_context(|| format!("{}: cannot move the old report aside", out.display()))?;
    }
    if let Err(e) = std::fs::rename(staging, out) {
        if had_old {
            let _ = std::fs::rename(&old, out);
        }
        return Err(e)
            .with_context(|| format!("{}: cannot move the new report in place", out.display()));
    }
    if had_old {
        std::fs::remove_dir_all(&old)
            .with_context(|| format!("{}: cannot remove the old report", old.display()))?;
    }
    Ok(())
}

fn draw_charts(out: &Path, run: &FairnessRun) -> Result<()> {
    use ts_viz::{BarChart, BarPanel, bar_chart};
    let panel = |title: &str, y: &str, cats: Vec<String>, series, reference| BarPanel {
        title: title.into(),
        y_label: y.into(),
        categories: cats,
        series,
        reference,
    };
    for a in &run.report.groupings {
        let g = &a.regression;
        let cats: Vec<String> = g.by_group.iter().map(|x| x.group.clone()).collect();
        let col = |f: fn(&ts_train::Metrics) -> f64| {
            g.by_group.iter().map(|x| f(&x.metrics)).collect::<Vec<_>>()
        };
        let panels = vec![
            panel(
                "R² by group",
                "R²",
                cats.clone(),
                vec![("R²".into(), col(|m| m.r2))],
                Some((g.overall.r2, "overall".into())),
            ),
            panel(
                "RMSE by group",
                "RMSE (original units)",
                cats,
                vec![("RMSE".into(), col(|m| m.rmse))],
                Some((g.overall.rmse, "overall".into())),
            ),
        ];
        let title = format!("{}: {} by group", a.grouping, a.target);
        bar_chart(
            &BarChart { title, panels },
            out,
            &format!("fairness_{}_regression", a.grouping),
        )?;
        rates_chart(out, a)?;
    }
    let ms = &run.report.mitigation;
    if ms.is_empty() {
        return Ok(());
    }
    let cats: Vec<String> = ms
        .iter()
        .map(|m| {
            format!(
                "{} {}",
                m.grouping.trim_end_matches("_Group"),
                if m.method.starts_with("threshold") {
                    "TO"
                } else {
                    "EG"
                }
            )
        })
        .collect();
    let both = |f: fn(&Snapshot) -> f64| {
        vec![
            ("before".into(), ms.iter().map(|m| f(&m.before)).collect()),
            ("after".into(), ms.iter().map(|m| f(&m.after)).collect()),
        ]
    };
    let mut panels = vec![
        panel(
            "DP difference",
            "DP difference",
            cats.clone(),
            both(|s| s.demographic_parity_difference),
            None,
        ),
        panel(
            "EO difference",
            "EO difference",
            cats.clone(),
            both(|s| s.equalized_odds_difference),
            None,
        ),
        panel(
            "accuracy",
            "accuracy",
            cats.clone(),
            both(|s| s.accuracy),
            None,
        ),
    ];
    if ms.iter().any(|m| m.after.rmse.is_some()) {
        panels.push(panel(
            "RMSE",
            "RMSE",
            cats,
            both(|s| s.rmse.unwrap_or(f64::NAN)),
            None,
        ));
    }
    bar_chart(
        &BarChart {
            title: "Before and after mitigation".into(),
            panels,
        },
        out,
        "fairness_mitigation",
    )?;
    Ok(())
}

fn rates_chart(out: &Path, a: &GroupingAudit) -> Result<()> {
    use ts_viz::{BarChart, BarPanel, bar_chart};
    let c = &a.classification;
    let rate = |f: fn(&ts_fairness::Rates) -> f64| {
        c.by_group.iter().map(|g| f(&g.rates)).collect::<Vec<f64>>()
    };
    let panel = BarPanel {
        title: "Selection rate, TPR and FPR by group".into(),
        y_label: "rate".into(),
        categories: c.by_group.iter().map(|g| g.group.clone()).collect(),
        series: vec![
            ("selection rate".into(), rate(|r| r.selection_rate)),
            ("TPR".into(), rate(|r| r.tpr)),
            ("FPR".into(), rate(|r| r.fpr)),
        ],
        reference: None,
    };
    let title = format!("{}: forecasts above {:.4}", a.grouping, a.threshold);
    bar_chart(
        &BarChart {
            title,
            panels: vec![panel],
        },
        out,
        &format!("fairness_{}_rates", a.grouping),
    )?;
    Ok(())
}
