//! Calendar inputs end to end: `auto` adds them for a series whose changes follow the month of
//! the year and not for one whose changes do not; the model file's network reads them, and `tsf
//! evaluate` and `tsf predict` rebuild them from the new table's dates; `--calendar on` without
//! dates and a bad value are refused.

mod common;

use std::path::Path;

use common::*;

/// Monthly rows from January 2000: `seasonal` follows the month of the year (plus a little
/// noise), `walk` is a random walk.
fn monthly(n: usize) -> String {
    let mut s = String::from("date,seasonal,walk\n");
    let mut walk = 0.0;
    for i in 0..n {
        let month = i % 12;
        let noise = ((i * 7919 + 17) % 23) as f64 / 23.0 - 0.5;
        walk += ((i * 104_729 + 3) % 19) as f64 / 9.0 - 1.0;
        s.push_str(&format!(
            "{}-{:02}-01,{:.5},{:.5}\n",
            2000 + i / 12,
            month + 1,
            10.0 * (std::f64::consts::TAU * month as f64 / 12.0).sin() + noise,
            walk
        ));
    }
    s
}

fn train(data: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "train",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--epochs",
        "2",
        "--hidden-size",
        "8",
        "--no-charts",
    ];
    args.extend(extra);
    tsf(&args)
}

fn inputs_line(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .find(|l| l.starts_with("Inputs:"))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn auto_adds_calendar_inputs_where_the_month_explains_the_changes() {
    let d = tempfile::tempdir().unwrap();
    let data = write(d.path(), "monthly.csv", &monthly(144));
    let run = d.path().join("seasonal");
    let o = train(&data, &run, &["--target", "seasonal"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        inputs_line(&o).contains("calendar_sin, calendar_cos"),
        "{}",
        inputs_line(&o)
    );
    // The saved network reads them: evaluate and predict rebuild them from the dates of a
    // table that does not have them.
    let model = run.join("model.tsf");
    let e = with_model("evaluate", &model, &data);
    assert!(e.status.success(), "{}", stderr(&e));
    let p = with_model_and("predict", &model, &data, &["--future-only"]);
    assert!(p.status.success(), "{}", stderr(&p));
    let out = String::from_utf8_lossy(&p.stdout).to_string();
    assert!(
        out.lines().nth(1).unwrap().starts_with("2012-01-01"),
        "{out}"
    );

    // A random walk's changes do not follow the month: no calendar inputs.
    let o = train(&data, &d.path().join("walk"), &["--target", "walk"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!inputs_line(&o).contains("calendar"), "{}", inputs_line(&o));
    // `off` wins over a strong season, `on` over a weak one.
    let o = train(
        &data,
        &d.path().join("off"),
        &["--target", "seasonal", "--calendar", "off"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!inputs_line(&o).contains("calendar"), "{}", inputs_line(&o));
    let o = train(
        &data,
        &d.path().join("on"),
        &["--target", "walk", "--calendar", "on", "--features", "walk"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(inputs_line(&o), "Inputs: walk, calendar_sin, calendar_cos");
}

/// The calendar columns are inputs, never targets (`--target all`), and not columns of the
/// table (`metrics.json` `data.columns`); a saved network that reads them still loads only the
/// table's columns it needs, so a text column it does not read stays unread.
#[test]
fn calendar_columns_are_inputs_only() {
    let d = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for (i, line) in monthly(144).lines().enumerate() {
        text.push_str(line);
        text.push_str(if i == 0 { ",note\n" } else { ",n/a\n" });
    }
    let data = write(d.path(), "notes.csv", &text);
    let run = d.path().join("all");
    let o = train(
        &data,
        &run,
        &[
            "--target",
            "seasonal,walk",
            "--features",
            "seasonal,walk",
            "--calendar",
            "on",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    let targets: Vec<&String> = m["targets"].as_object().unwrap().keys().collect();
    assert_eq!(targets, ["seasonal", "walk"]);
    let columns = m["data"]["columns"].to_string();
    assert!(!columns.contains("calendar"), "{columns}");
    // evaluate reads `seasonal` and `walk` only: the text column is never parsed.
    let e = with_model("evaluate", &run.join("model.tsf"), &data);
    assert!(e.status.success(), "{}", stderr(&e));

    // `--target all` on a table of numbers: every column of the table, no calendar column.
    let plain = write(d.path(), "monthly.csv", &monthly(144));
    let run = d.path().join("every");
    let o = train(&plain, &run, &["--target", "all", "--calendar", "on"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    let targets: Vec<&String> = m["targets"].as_object().unwrap().keys().collect();
    assert_eq!(targets, ["seasonal", "walk"]);
}

#[test]
fn calendar_inputs_need_dates_and_a_known_value() {
    let d = tempfile::tempdir().unwrap();
    let plain: String = std::iter::once("t,y\n".to_string())
        .chain((0..80).map(|i| format!("{i},{}\n", (i as f64 * 0.3).sin())))
        .collect();
    let data = write(d.path(), "plain.csv", &plain);
    let o = train(
        &data,
        &d.path().join("a"),
        &["--target", "y", "--calendar", "on"],
    );
    assert_bad(&o, &["calendar", "plain.csv", "time column of dates"]);
    let o = train(
        &data,
        &d.path().join("b"),
        &["--target", "y", "--calendar", "maybe"],
    );
    assert_bad(&o, &["maybe", "auto"]);
    // Without dates `auto` simply adds nothing.
    let o = train(&data, &d.path().join("c"), &["--target", "y"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!inputs_line(&o).contains("calendar"));
}
