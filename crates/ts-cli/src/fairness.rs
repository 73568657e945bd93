//! `tsf groups` and `tsf fairness`: group columns, the per-group audit of a saved model with
//! fairlearn's parity metrics, charts, and mitigation (threshold optimizer, exponentiated gradient).

use std::path::{Path, PathBuf};

/// Writes a file atomically.
fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    Ok(ts_model::file::write_atomic(path, bytes)?)
}

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use ts_data::{FillPolicy, Frame, LoadOptions, load};
use ts_fairness::audit::{ForecastSamples, GroupingAudit, audit_grouping, forecast_samples};
use ts_fairness::classify::{ClassificationReport, binarise, classification_report};
use ts_fairness::threshold::{Constraint, ThresholdOptimizer};
use ts_fairness::{Grouping, GroupsSummary, SeedGrouping, TextTable};
use ts_train::pipeline;

/// `tsf groups`: add group columns to a table.
#[derive(Debug, Args)]
pub struct GroupsArgs {
    /// Data file, CSV or Parquet.
    #[arg(long)]
    pub data: PathBuf,
    /// Output CSV with the group columns added (default: `<data stem>_groups.csv` beside the data).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Where to write the summary (default: `fairness_groups_summary.json` beside the output).
    #[arg(long)]
    pub summary: Option<PathBuf>,
    /// The seed's group columns to add: economic, inflation, combined, time, risk (comma-separated;
    /// the default when no other group maker is given is all five).
    #[arg(long, value_delimiter = ',')]
    pub groups: Vec<String>,
    /// Median split of a column (A = high, B = low): `COLUMN` or `COLUMN=NAME`; may repeat.
    #[arg(long)]
    pub median: Vec<String>,
    /// Cross of two median splits (A-D = high/high, high/low, low/high, low/low):
    /// `COL1,COL2` or `COL1,COL2=NAME`; may repeat.
    #[arg(long)]
    pub cross: Vec<String>,
    /// Date eras from cut dates: `DATE,DATE,...` or `DATE,...=NAME` (A = before the first cut).
    #[arg(long)]
    pub eras: Vec<String>,
    /// Quantile bins: `COLUMN:N` or `COLUMN:N=NAME` (Q1 = lowest).
    #[arg(long)]
    pub quantiles: Vec<String>,
    /// Time column (default: detected).
    #[arg(long)]
    pub time_column: Option<String>,
    /// Missing values: error | ffill | interpolate (rows cannot be dropped here).
    #[arg(long, default_value = "error")]
    pub fill: String,
}

/// `tsf fairness`: audit a saved model across groups, and optionally mitigate.
#[derive(Debug, Args)]
pub struct FairnessArgs {
    /// Model file written by `tsf train`.
    #[arg(long)]
    pub model: PathBuf,
    /// Data file with the model's columns (and group columns, or the columns to make them from).
    #[arg(long)]
    pub data: PathBuf,
    /// The seed's groupings: economic, inflation, combined, time, risk (comma-separated). A grouping
    /// whose column (e.g. `Economic_Group`) is in the data is read from it, otherwise made from the
    /// data. Default: all five, unless --group-column is given.
    #[arg(long, value_delimiter = ',')]
    pub groups: Vec<String>,
    /// An existing categorical group column of the data; may repeat.
    #[arg(long)]
    pub group_column: Vec<String>,
    /// Target to audit (default: the model's first target).
    #[arg(long)]
    pub target: Option<String>,
    /// Threshold in original units that binarises actuals and forecasts (value > threshold is
    /// positive; default: the median of the actuals).
    #[arg(long, allow_negative_numbers = true)]
    pub threshold: Option<f64>,
    /// Mitigation: none | threshold | reductions | both.
    #[arg(long, default_value = "none")]
    pub mitigate: String,
    /// Constraint: demographic_parity | equalized_odds (threshold optimizer and reductions) or
    /// bounded_group_loss (reductions only).
    #[arg(long, default_value = "demographic_parity")]
    pub constraint: String,
    /// Apply a saved threshold optimizer (JSON) to the first grouping instead of fitting one.
    #[arg(long)]
    pub thresholds: Option<PathBuf>,
    /// Exponentiated-gradient iterations (each retrains the model once).
    #[arg(long, default_value_t = 3)]
    pub iterations: usize,
    /// Epochs per retraining (default: the model's own setting).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Allowed constraint violation (demographic parity / equalized odds), or the loss bound as a
    /// multiple of the overall MSE (bounded group loss).
    #[arg(long, default_value_t = 0.01, allow_negative_numbers = true)]
    pub epsilon: f64,
    /// Seed of the randomised threshold predictions.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Missing values: error | ffill | interpolate.
    #[arg(long, default_value = "error")]
    pub fill: String,
    /// Output folder.
    #[arg(long, default_value = "fairness-report")]
    pub out: PathBuf,
    /// Skip the charts.
    #[arg(long)]
    pub no_charts: bool,
}

fn fill_policy(s: &str) -> Result<FillPolicy> {
    let f: FillPolicy = s.parse()?;
    if f == FillPolicy::Drop {
        bail!(
            "--fill drop is not supported here: group columns must stay aligned with the rows; use ffill or interpolate"
        );
    }
    Ok(f)
}

/// Splits `SPEC=NAME` into the spec and an optional name.
fn named(spec: &str) -> (&str, Option<&str>) {
    match spec.rsplit_once('=') {
        Some((s, n)) if !n.trim().is_empty() => (s.trim(), Some(n.trim())),
        _ => (spec.trim(), None),
    }
}

fn group_name(base: &str) -> String {
    let clean: String = base
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect();
    format!("{}_Group", clean.trim_matches('_'))
}

/// Columns of a text table whose every non-empty cell is a number.
fn numeric_columns(t: &TextTable) -> Vec<String> {
    t.names
        .iter()
        .zip(&t.columns)
        .filter(|(_, c)| {
            c.iter().any(|v| v.is_some())
                && c.iter()
                    .flatten()
                    .all(|v| v.trim().is_empty() || v.trim().parse::<f64>().is_ok())
        })
        .map(|(n, _)| n.clone())
        .collect()
}

/// Refuses a group maker's column that exists but is not numeric, naming its first text cell
/// (the frame holds only the numeric columns, so the library would say "not found").
fn require_numeric(
    path: &Path,
    table: &TextTable,
    frame: &Frame,
    flag: &str,
    col: &str,
) -> Result<()> {
    if frame.columns.iter().any(|c| c == col) || !table.has(col) {
        return Ok(());
    }
    let cells = table.column(col)?;
    let bad = cells.iter().enumerate().find_map(|(r, c)| {
        let v = c.as_deref()?.trim();
        (!v.is_empty() && v.parse::<f64>().is_err()).then(|| (r + 1, v.to_string()))
    });
    match bad {
        Some((row, value)) => bail!(
            "{}: {flag}: column {col:?} is not numeric (row {row}: {value:?}); a median split or quantile bins need a numeric column",
            path.display()
        ),
        None => bail!(
            "{}: {flag}: column {col:?} is not numeric (it is the time column or has no values); a median split or quantile bins need a numeric column",
            path.display()
        ),
    }
}

/// Loads the numeric columns of a table as a frame aligned with its text rows.
fn numeric_frame(
    path: &Path,
    table: &TextTable,
    time_column: Option<String>,
    fill: FillPolicy,
) -> Result<Frame> {
    let columns = numeric_columns(table);
    if columns.is_empty() {
        bail!("{}: no numeric columns", path.display());
    }
    let frame = load(
        path,
        &LoadOptions {
            time_column,
            columns: Some(columns),
            fill,
        },
    )?;
    if frame.n_rows() != table.n_rows() {
        bail!(
            "{}: {} rows loaded but the file has {}; group columns cannot be aligned",
            path.display(),
            frame.n_rows(),
            table.n_rows()
        );
    }
    Ok(frame)
}

fn seed_list(keys: &[String]) -> Result<Vec<SeedGrouping>> {
    let mut out = Vec::new();
    for k in keys.iter().filter(|k| !k.trim().is_empty()) {
        let g: SeedGrouping = k.parse()?;
        if !out.contains(&g) {
            out.push(g);
        }
    }
    Ok(out)
}

/// `tsf groups`.
pub fn groups(a: GroupsArgs) -> Result<()> {
    let fill = fill_policy(&a.fill)?;
    let table = TextTable::read(&a.data)?;
    let frame = numeric_frame(&a.data, &table, a.time_column.clone(), fill)?;
    let mut made: Vec<Grouping> = Vec::new();
    let custom =
        !(a.median.is_empty() && a.cross.is_empty() && a.eras.is_empty() && a.quantiles.is_empty());
    let seeds = if a.groups.is_empty() && !custom {
        SeedGrouping::ALL.to_vec()
    } else {
        seed_list(&a.groups)?
    };
    for s in seeds {
        made.push(s.make(&frame)?);
    }
    for m in &a.median {
        let (col, name) = named(m);
        require_numeric(&a.data, &table, &frame, &format!("--median {m:?}"), col)?;
        made.push(ts_fairness::median_split(
            &frame,
            col,
            &name.map_or_else(|| group_name(col), str::to_string),
        )?);
    }
    for c in &a.cross {
        let (cols, name) = named(c);
        let (x, y) = cols
            .split_once(',')
            .ok_or_else(|| anyhow!("--cross {c:?}: expected two columns as COL1,COL2"))?;
        let (x, y) = (x.trim(), y.trim());
        for col in [x, y] {
            require_numeric(&a.data, &table, &frame, &format!("--cross {c:?}"), col)?;
        }
        let name = name.map_or_else(|| group_name(&format!("{x}_{y}")), str::to_string);
        made.push(ts_fairness::cross(&frame, x, y, &name)?);
    }
    for e in &a.eras {
        let (cuts, name) = named(e);
        let cuts: Vec<String> = cuts
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        made.push(ts_fairness::eras(
            &frame,
            &cuts,
            name.unwrap_or("Era_Group"),
        )?);
    }
    for q in &a.quantiles {
        let (spec, name) = named(q);
        let (col, n) = spec
            .rsplit_once(':')
            .ok_or_else(|| anyhow!("--quantiles {q:?}: expected COLUMN:N"))?;
        let n: usize = n
            .trim()
            .parse()
            .map_err(|_| anyhow!("--quantiles {q:?}: {n:?} is not a number of bins"))?;
        let name = name.map_or_else(
            || group_name(&format!("{}_Q{n}", col.trim())),
            str::to_string,
        );
        require_numeric(
            &a.data,
            &table,
            &frame,
            &format!("--quantiles {q:?}"),
            col.trim(),
        )?;
        made.push(ts_fairness::quantile_bins(&frame, col.trim(), n, &name)?);
    }
    // A group column replaces an earlier group column of the same name (rerunning on an output),
    // but never a data column: a numeric column or the time column.
    let time = frame.time.as_ref().map(|t| t.column.as_str());
    if let Some(g) = made
        .iter()
        .find(|g| frame.columns.contains(&g.name) || time == Some(g.name.as_str()))
    {
        bail!(
            "{}: the group column name {:?} is already a data column of the file; writing it would overwrite that column; choose another name with =NAME",
            a.data.display(),
            g.name
        );
    }
    for (i, g) in made.iter().enumerate() {
        if made[..i].iter().any(|h| h.name == g.name) {
            bail!(
                "two groupings are both named {:?}; name one with =NAME",
                g.name
            );
        }
    }
    let out = a.out.clone().unwrap_or_else(|| {
        let stem = a
            .data
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("data");
        a.data.with_file_name(format!("{stem}_groups.csv"))
    });
    if out == a.data {
        bail!(
            "{}: the output would overwrite the data file; choose another --out",
            out.display()
        );
    }
    ts_train::output::check_output(&out, &[&a.data])?;
    let refs: Vec<&Grouping> = made.iter().collect();
    let csv = table.to_csv(&refs)?;
    let summary = GroupsSummary::of(&a.data, table.n_rows(), &made);
    let summary_path = a.summary.clone().unwrap_or_else(|| {
        out.parent()
            .unwrap_or_else(|| Path::new("."))
            .join("fairness_groups_summary.json")
    });
    ts_train::output::check_output(&summary_path, &[&a.data, &out])?;
    if let Some(dir) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create folder", dir.display()))?;
    }
    write(&out, csv.as_bytes())?;
    write(
        &summary_path,
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    println!("Loaded {}: {} rows", a.data.display(), table.n_rows());
    for g in &made {
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
    println!("Wrote {} and {}", out.display(), summary_path.display());
    Ok(())
}

/// The groupings of `tsf fairness`: from columns of the data where present, otherwise made.
fn fairness_groupings(
    a: &FairnessArgs,
    table: &TextTable,
    frame_all: impl Fn() -> Result<Frame>,
) -> Result<Vec<Grouping>> {
    let mut out = Vec::new();
    let seeds = if a.groups.is_empty() && a.group_column.is_empty() {
        SeedGrouping::ALL.to_vec()
    } else {
        seed_list(&a.groups)?
    };
    // The numeric columns, loaded once and only when a seed grouping needs them.
    let mut frame: Option<std::result::Result<Frame, String>> = None;
    let mut numeric = || {
        frame
            .get_or_insert_with(|| frame_all().map_err(|e| format!("{e:#}")))
            .clone()
    };
    for s in seeds {
        if table.has(s.column()) {
            let read = table.grouping(s.column())?;
            // The column as `tsf groups` wrote it: take the maker's descriptions when the data
            // still gives the same labels.
            let made = numeric().ok().and_then(|f| s.make(&f).ok());
            out.push(match made {
                Some(m) if m.labels == read.labels => m,
                _ => read,
            });
        } else {
            let f = numeric().map_err(|e| anyhow!(e))?;
            out.push(s.make(&f)?);
        }
    }
    for c in &a.group_column {
        let g = table.grouping(c)?;
        if g.groups.len() > 50 {
            bail!(
                "group column {c:?} has {} distinct values; a group column should have a few (is it numeric? use tsf groups --median/--quantiles)",
                g.groups.len()
            );
        }
        out.push(g);
    }
    Ok(out)
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "undefined".into(), |x| format!("{x:.4}"))
}

fn print_audit(a: &GroupingAudit) {
    println!();
    println!("== {} ({}) ==", a.grouping, a.description);
    println!(
        "  {:<6} {:>6} {:>10} {:>10} {:>9} {:>7} {:>7} {:>7} {:>7}  description",
        "group", "count", "RMSE", "MAE", "R²", "sel", "TPR", "FPR", "acc"
    );
    for g in &a.regression.by_group {
        let c = a
            .classification
            .by_group
            .iter()
            .find(|c| c.group == g.group);
        let r = |f: fn(&ts_fairness::Rates) -> f64| c.map_or(f64::NAN, |c| f(&c.rates));
        println!(
            "  {:<6} {:>6} {:>10.4} {:>10.4} {:>9.4} {:>7.3} {:>7.3} {:>7.3} {:>7.3}  {}",
            g.group,
            g.metrics.count,
            g.metrics.rmse,
            g.metrics.mae,
            g.metrics.r2,
            r(|x| x.selection_rate),
            r(|x| x.tpr),
            r(|x| x.fpr),
            r(|x| x.accuracy),
            g.description
        );
    }
    let o = &a.regression.overall;
    let c = &a.classification.overall;
    println!(
        "  {:<6} {:>6} {:>10.4} {:>10.4} {:>9.4} {:>7.3} {:>7.3} {:>7.3} {:>7.3}",
        "all", o.count, o.rmse, o.mae, o.r2, c.selection_rate, c.tpr, c.fpr, c.accuracy
    );
    if !a.regression.groups_without_windows.is_empty() {
        println!(
            "  no windows predict a row of group(s) {}; they are left out",
            a.regression.groups_without_windows.join(", ")
        );
    }
    let s = &a.regression.summary;
    println!(
        "  R² range {:.4}, R² CV {}, RMSE range {:.4}, RMSE CV {}, worst group {} (MSE {:.4})",
        s.r2_range,
        fmt_opt(s.r2_cv),
        s.rmse_range,
        fmt_opt(s.rmse_cv),
        s.worst_group,
        s.worst_group_mse
    );
    let b = &a.classification.between_groups;
    println!(
        "  threshold {:.4}: demographic parity difference {:.4}, ratio {}; equalized odds difference {:.4}, ratio {}; equal opportunity difference {:.4}, ratio {}",
        a.threshold,
        b.demographic_parity_difference,
        fmt_opt(b.demographic_parity_ratio),
        b.equalized_odds_difference,
        fmt_opt(b.equalized_odds_ratio),
        b.equal_opportunity_difference,
        fmt_opt(b.equal_opportunity_ratio)
    );
    for r in &a.readings {
        println!("  → {r}");
    }
    for n in &a.classification.notes {
        println!("  note: {n}");
    }
}

/// fairlearn's output shape for one grouping (as in `fairness_golden.json`).
fn fairlearn_json(r: &ClassificationReport) -> serde_json::Value {
    let by_group: serde_json::Map<String, serde_json::Value> = r
        .by_group
        .iter()
        .map(|g| {
            (
                g.group.clone(),
                serde_json::to_value(g.rates).unwrap_or_default(),
            )
        })
        .collect();
    let counts: serde_json::Map<String, serde_json::Value> = r
        .by_group
        .iter()
        .map(|g| (g.group.clone(), serde_json::json!(g.count)))
        .collect();
    serde_json::json!({
        "n": r.n,
        "between_groups": r.between_groups,
        "to_overall": r.to_overall,
        "by_group": by_group,
        "group_counts": counts,
        "overall": r.overall,
        "metricframe_difference_between_groups": r.difference_between_groups,
        "metricframe_ratio_between_groups": r.ratio_between_groups,
        "metricframe_group_min": r.group_min,
        "metricframe_group_max": r.group_max,
        "notes": r.notes,
    })
}

/// Before/after figures of one mitigation on one grouping.
#[derive(Debug, Clone, serde::Serialize)]
struct MitigationResult {
    method: String,
    grouping: String,
    constraint: String,
    before: Snapshot,
    after: Snapshot,
    detail: serde_json::Value,
}

/// Parity and accuracy figures at one moment.
#[derive(Debug, Clone, Copy, serde::Serialize)]
struct Snapshot {
    demographic_parity_difference: f64,
    demographic_parity_ratio: Option<f64>,
    equalized_odds_difference: f64,
    equalized_odds_ratio: Option<f64>,
    accuracy: f64,
    rmse: Option<f64>,
    worst_group_rmse: Option<f64>,
}

impl Snapshot {
    fn of(c: &ClassificationReport, rmse: Option<f64>, worst: Option<f64>) -> Self {
        Self {
            demographic_parity_difference: c.between_groups.demographic_parity_difference,
            demographic_parity_ratio: c.between_groups.demographic_parity_ratio,
            equalized_odds_difference: c.between_groups.equalized_odds_difference,
            equalized_odds_ratio: c.between_groups.equalized_odds_ratio,
            accuracy: c.overall.accuracy,
            rmse,
            worst_group_rmse: worst,
        }
    }
}

fn print_mitigation(m: &MitigationResult) {
    let f = |s: &Snapshot| {
        format!(
            "DP diff {:.4}, DP ratio {}, EO diff {:.4}, accuracy {:.4}{}",
            s.demographic_parity_difference,
            fmt_opt(s.demographic_parity_ratio),
            s.equalized_odds_difference,
            s.accuracy,
            match (s.rmse, s.worst_group_rmse) {
                (Some(r), Some(w)) => format!(", RMSE {r:.4}, worst-group RMSE {w:.4}"),
                _ => String::new(),
            }
        )
    };
    println!();
    println!(
        "Mitigation: {} on {} ({})",
        m.method, m.grouping, m.constraint
    );
    println!("  before: {}", f(&m.before));
    println!("  after:  {}", f(&m.after));
}

fn threshold_mitigation(
    a: &FairnessArgs,
    samples: &ForecastSamples,
    audit: &GroupingAudit,
    grouping: &Grouping,
    first: bool,
) -> Result<MitigationResult> {
    let constraint: Constraint = a.constraint.parse().map_err(|_| {
        anyhow!(
            "invalid --constraint {:?} for the threshold optimizer: expected demographic_parity or equalized_odds",
            a.constraint
        )
    })?;
    let labels = samples.labels(grouping)?;
    let y_true = binarise(&samples.actual, audit.threshold);
    let (opt, source) = match (&a.thresholds, first) {
        (Some(p), true) => (
            ThresholdOptimizer::load(p)?,
            format!("loaded from {}", p.display()),
        ),
        _ => {
            let o =
                ThresholdOptimizer::fit(&samples.predicted, &y_true, &labels, constraint, 1000)?;
            let file = a
                .out
                .join(format!("threshold_optimizer_{}.json", grouping.name));
            o.save(&file)?;
            (
                o,
                format!("fitted on these forecasts, saved to {}", file.display()),
            )
        }
    };
    let y_after = opt.predict(&samples.predicted, &labels, a.seed)?;
    let after = classification_report(&y_true, &y_after, &labels)?;
    let s = &audit.regression;
    Ok(MitigationResult {
        method: "threshold optimizer".into(),
        grouping: grouping.name.clone(),
        constraint: format!("{:?}", opt.constraint),
        before: Snapshot::of(
            &audit.classification,
            Some(s.overall.rmse),
            Some(s.summary.worst_group_rmse),
        ),
        after: Snapshot::of(&after, None, None),
        detail: serde_json::json!({ "optimizer": opt, "source": source, "seed": a.seed, "after": fairlearn_json(&after) }),
    })
}

fn charts(out: &Path, audits: &[GroupingAudit], mitigations: &[MitigationResult]) -> Result<()> {
    use ts_viz::{BarChart, BarPanel, bar_chart};
    for a in audits {
        let cats: Vec<String> = a
            .regression
            .by_group
            .iter()
            .map(|g| g.group.clone())
            .collect();
        let col = |f: fn(&ts_train::Metrics) -> f64| {
            a.regression
                .by_group
                .iter()
                .map(|g| f(&g.metrics))
                .collect::<Vec<f64>>()
        };
        bar_chart(
            &BarChart {
                title: format!("{}: {} by group", a.grouping, a.target),
                panels: vec![
                    BarPanel {
                        title: "R² by group".into(),
                        y_label: "R²".into(),
                        categories: cats.clone(),
                        series: vec![("R²".into(), col(|m| m.r2))],
                        reference: Some((a.regression.overall.r2, "overall".into())),
                    },
                    BarPanel {
                        title: "RMSE by group".into(),
                        y_label: "RMSE (original units)".into(),
                        categories: cats,
                        series: vec![("RMSE".into(), col(|m| m.rmse))],
                        reference: Some((a.regression.overall.rmse, "overall".into())),
                    },
                ],
            },
            out,
            &format!("fairness_{}_regression", a.grouping),
        )?;
        let c = &a.classification;
        let cats: Vec<String> = c.by_group.iter().map(|g| g.group.clone()).collect();
        let rate = |f: fn(&ts_fairness::Rates) -> f64| {
            c.by_group.iter().map(|g| f(&g.rates)).collect::<Vec<f64>>()
        };
        bar_chart(
            &BarChart {
                title: format!("{}: forecasts above {:.4}", a.grouping, a.threshold),
                panels: vec![BarPanel {
                    title: "Selection rate, TPR and FPR by group".into(),
                    y_label: "rate".into(),
                    categories: cats,
                    series: vec![
                        ("selection rate".into(), rate(|r| r.selection_rate)),
                        ("TPR".into(), rate(|r| r.tpr)),
                        ("FPR".into(), rate(|r| r.fpr)),
                    ],
                    reference: None,
                }],
            },
            out,
            &format!("fairness_{}_rates", a.grouping),
        )?;
    }
    if !mitigations.is_empty() {
        let cats: Vec<String> = mitigations
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
        let pick = |f: fn(&Snapshot) -> f64, after: bool| {
            mitigations
                .iter()
                .map(|m| f(if after { &m.after } else { &m.before }))
                .collect::<Vec<f64>>()
        };
        let panel = |title: &str, f: fn(&Snapshot) -> f64| BarPanel {
            title: title.into(),
            y_label: title.into(),
            categories: cats.clone(),
            series: vec![
                ("before".into(), pick(f, false)),
                ("after".into(), pick(f, true)),
            ],
            reference: None,
        };
        let mut panels = vec![
            panel("DP difference", |s| s.demographic_parity_difference),
            panel("EO difference", |s| s.equalized_odds_difference),
            panel("accuracy", |s| s.accuracy),
        ];
        if mitigations.iter().any(|m| m.after.rmse.is_some()) {
            panels.push(panel("RMSE", |s| s.rmse.unwrap_or(f64::NAN)));
        }
        bar_chart(
            &BarChart {
                title: "Before and after mitigation".into(),
                panels,
            },
            out,
            "fairness_mitigation",
        )?;
    }
    Ok(())
}

/// `tsf fairness`.
pub fn fairness(a: FairnessArgs) -> Result<()> {
    let fill = fill_policy(&a.fill)?;
    let mitigate = a.mitigate.trim().to_ascii_lowercase();
    let (do_threshold, do_reductions) = match mitigate.as_str() {
        "none" => (false, false),
        "threshold" => (true, false),
        "reductions" => (false, true),
        "both" => (true, true),
        _ => bail!(
            "invalid --mitigate {:?}: expected none, threshold, reductions or both",
            a.mitigate
        ),
    };
    if do_threshold && a.thresholds.is_none() {
        a.constraint.parse::<Constraint>().map_err(|_| {
            anyhow!(
                "invalid --constraint {:?} for the threshold optimizer: expected demographic_parity or equalized_odds",
                a.constraint
            )
        })?;
    }
    if do_reductions {
        a.constraint
            .parse::<ts_fairness::reductions::ReductionConstraint>()?;
    }
    // Options that would make every mitigation fail are errors, not "skipped" groupings.
    if a.thresholds.is_some() && !do_threshold {
        bail!(
            "--thresholds {} applies a saved threshold optimizer: add --mitigate threshold (or both)",
            a.thresholds.as_deref().unwrap_or(Path::new("")).display()
        );
    }
    if do_reductions && !(1..=50).contains(&a.iterations) {
        bail!(
            "invalid --iterations {}: choose 1 to 50 (each retrains the model once)",
            a.iterations
        );
    }
    if do_reductions && !(a.epsilon.is_finite() && a.epsilon >= 0.0) {
        bail!(
            "invalid --epsilon {}: must be a finite number >= 0",
            a.epsilon
        );
    }
    if a.out.exists() && !a.out.is_dir() {
        bail!(
            "{}: output path exists and is not a folder",
            a.out.display()
        );
    }
    let bundle = pipeline::load_model(&a.model)?;
    let time_column = bundle.config.data.time_column.clone();
    let table = TextTable::read(&a.data)?;
    let features = bundle.header.spec.features.clone();
    let frame = load(
        &a.data,
        &LoadOptions {
            time_column: time_column.clone(),
            columns: Some(features),
            fill,
        },
    )?;
    if frame.n_rows() != table.n_rows() {
        bail!(
            "{}: rows were dropped while loading; group columns cannot be aligned",
            a.data.display()
        );
    }
    let groupings = fairness_groupings(&a, &table, || {
        numeric_frame(&a.data, &table, time_column.clone(), fill)
    })?;
    let samples = forecast_samples(&bundle, &frame, a.target.as_deref())?;
    println!(
        "Model {} on {}: {} forecasts of {} ({} rows)",
        a.model.display(),
        a.data.display(),
        samples.len(),
        samples.target,
        frame.n_rows()
    );
    let mut audits = Vec::new();
    for g in &groupings {
        let audit = audit_grouping(&samples, g, a.threshold)?;
        print_audit(&audit);
        audits.push(audit);
    }
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("{}: cannot create output folder", a.out.display()))?;
    let mut mitigations = Vec::new();
    let mut skipped = Vec::new();
    // A grouping a method cannot handle (for example a group whose labels are all positive, which
    // fairlearn refuses too) is reported and skipped; the other groupings go on.
    let mut record = |method: &str, g: &Grouping, r: Result<MitigationResult>| match r {
        Ok(m) => {
            print_mitigation(&m);
            mitigations.push(m);
        }
        Err(e) => {
            let reason = format!("{e:#}");
            println!();
            println!("Mitigation: {method} on {} skipped: {reason}", g.name);
            skipped.push(
                serde_json::json!({ "method": method, "grouping": g.name, "reason": reason }),
            );
        }
    };
    if do_threshold {
        for (i, (g, audit)) in groupings.iter().zip(&audits).enumerate() {
            record(
                "threshold optimizer",
                g,
                threshold_mitigation(&a, &samples, audit, g, i == 0),
            );
        }
    }
    if do_reductions {
        for (g, audit) in groupings.iter().zip(&audits) {
            record(
                "exponentiated gradient",
                g,
                reductions(&a, &bundle, &frame, g, audit),
            );
        }
    }
    let report = serde_json::json!({
        "model": a.model,
        "data": a.data,
        "target": samples.target,
        "forecasts": samples.len(),
        "groupings": audits,
        "mitigation": mitigations,
        "mitigation_skipped": skipped,
    });
    write(
        &a.out.join("fairness_report.json"),
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    let fl: serde_json::Map<String, serde_json::Value> = audits
        .iter()
        .map(|x| {
            let mut v = fairlearn_json(&x.classification);
            v["threshold"] = serde_json::json!(x.threshold);
            (x.grouping.clone(), v)
        })
        .collect();
    write(
        &a.out.join("fairlearn_evaluation_report.json"),
        serde_json::to_string_pretty(&serde_json::Value::Object(fl))?.as_bytes(),
    )?;
    if !a.no_charts {
        charts(&a.out, &audits, &mitigations)?;
    }
    println!();
    println!("Wrote {}", a.out.display());
    Ok(())
}

/// Exponentiated-gradient retraining on one grouping; saves the members and the mixture.
fn reductions(
    a: &FairnessArgs,
    bundle: &ts_train::Bundle,
    frame: &Frame,
    grouping: &Grouping,
    audit: &GroupingAudit,
) -> Result<MitigationResult> {
    use ts_fairness::reductions::{ReductionConfig, ReductionConstraint, exponentiated_gradient};
    let constraint: ReductionConstraint = a.constraint.parse()?;
    let mut rc = ReductionConfig::new(constraint, audit.threshold);
    rc.iterations = a.iterations;
    rc.epsilon = a.epsilon;
    if a.epsilon > 0.0 {
        rc.bound = 1.0 / a.epsilon;
    }
    rc.epochs = a.epochs;
    println!();
    println!(
        "Reductions on {}: {} retrainings under {:?} ...",
        grouping.name, rc.iterations, constraint
    );
    let t0 = std::time::Instant::now();
    let outcome = exponentiated_gradient(frame, &bundle.retrain_config(), grouping, &rc)?;
    let seconds = t0.elapsed().as_secs_f64();
    if let Some(why) = &outcome.stopped {
        println!("  {why}");
    }
    // The mixture's forecasts on the whole table, in original units.
    let mut mixture: Option<ForecastSamples> = None;
    let mut files = Vec::new();
    for k in 0..outcome.models.len() {
        let member = outcome.member_bundle(bundle, k);
        let s = forecast_samples(&member, frame, Some(&audit.target))?;
        let path = a
            .out
            .join(format!("reductions_{}_member{}.tsf", grouping.name, k + 1));
        ts_model::file::save(&path, &member.model, &member.header)?;
        files.push(path.display().to_string());
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
    }
    let mixture = mixture.ok_or_else(|| anyhow!("no iterations"))?;
    let after = audit_grouping(&mixture, grouping, Some(audit.threshold))?;
    let s = &audit.regression;
    let detail = serde_json::json!({
        "config": rc,
        "seconds": seconds,
        "iterations": outcome.iterations,
        "mixture_weights": outcome.weights,
        "stopped": outcome.stopped,
        "members": files,
        "after": after,
    });
    write(
        &a.out.join(format!("reductions_{}.json", grouping.name)),
        serde_json::to_string_pretty(&detail)?.as_bytes(),
    )?;
    Ok(MitigationResult {
        method: "exponentiated gradient".into(),
        grouping: grouping.name.clone(),
        constraint: format!("{constraint:?}"),
        before: Snapshot::of(
            &audit.classification,
            Some(s.overall.rmse),
            Some(s.summary.worst_group_rmse),
        ),
        after: Snapshot::of(
            &after.classification,
            Some(after.regression.overall.rmse),
            Some(after.regression.summary.worst_group_rmse),
        ),
        detail,
    })
}
