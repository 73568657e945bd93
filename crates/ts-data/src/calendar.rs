//! Calendar inputs known in advance: a row's place in its season's cycle (the month of the year
//! for monthly and quarterly data, the day of the year for weekly data, the day of the week for
//! daily data, the time of the day or of the week for data taken several times a day), read off
//! the time stamps and given to a network as the sine and cosine of that place. They tell a
//! network which part of the cycle a window ends in, which a short window cannot always see.
//! Time stamps with an offset are read in UTC (hourly data with daylight-saving offsets shifts
//! its hour for half the year).
//!
//! [`calendar_share`] measures, on the training rows, how much of the one-step changes of the
//! targets the place in the cycle explains; [`with_calendar`] appends the two columns.

use crate::error::{DataError, Result};
use crate::frame::Frame;

/// Names of the two calendar columns [`with_calendar`] appends.
pub const CALENDAR_COLUMNS: [&str; 2] = ["calendar_sin", "calendar_cos"];

/// Whether `name` is one of the [`CALENDAR_COLUMNS`].
pub fn is_calendar_column(name: &str) -> bool {
    CALENDAR_COLUMNS.contains(&name)
}

/// Whether a network's inputs `features` include calendar columns.
pub fn reads_calendar(features: &[String]) -> bool {
    features.iter().any(|c| is_calendar_column(c))
}

const DAY: f64 = 86_400.0;
const WEEK: f64 = 7.0 * DAY;
/// 1970-01-01 was a Thursday: seconds from a Monday 00:00 to the epoch.
const MONDAY_BEFORE_EPOCH: f64 = 3.0 * DAY;

/// Each row's place in the cycle of `season` rows, as a fraction of the cycle in `[0, 1)`, from
/// the time stamps: the month of the year (`season` 12, monthly data; 4, quarterly), the day of
/// the year (52, weekly), the day of the week (7, daily), the time of the day (`season` rows a
/// day) or of the week (`season` rows a week) for data taken several times a day. `None` without
/// a date index, or for a season that is not one of these cycles.
pub fn cycle_positions(frame: &Frame, season: usize) -> Option<Vec<f64>> {
    let t = frame.time.as_ref().filter(|t| t.is_dates())?;
    let keys = t.keys();
    let step = crate::season::median_step(keys);
    if step.is_nan() {
        return None;
    }
    let days = step / DAY;
    let date =
        |k: f64| chrono::DateTime::from_timestamp(k.floor() as i64, 0).map(|d| d.naive_utc());
    use chrono::Datelike;
    let of =
        |f: &dyn Fn(f64) -> Option<f64>| keys.iter().map(|&k| f(k)).collect::<Option<Vec<f64>>>();
    match season {
        12 | 4 if (28.0..=92.0).contains(&days) => {
            of(&|k| date(k).map(|d| f64::from(d.month0()) / 12.0))
        }
        52 if (days - 7.0).abs() < 1e-6 => {
            of(&|k| date(k).map(|d| f64::from(d.ordinal0()) / 366.0))
        }
        7 if (days - 1.0).abs() < 1e-6 => {
            of(&|k| Some(((k + MONDAY_BEFORE_EPOCH).rem_euclid(WEEK)) / WEEK))
        }
        m if days < 1.0 && m >= 2 => {
            let per_day = (DAY / step).round();
            let cycle = if (m as f64 - per_day).abs() < 0.5 {
                DAY
            } else if (m as f64 - 7.0 * per_day).abs() < 0.5 {
                WEEK
            } else {
                return None;
            };
            of(&|k| Some(((k + MONDAY_BEFORE_EPOCH).rem_euclid(cycle)) / cycle))
        }
        _ => None,
    }
}

/// The share of the variance of the targets' one-step changes on rows `..train_rows` that their
/// place in the cycle explains (the mean change per place, `season` places; adjusted R², averaged
/// over the targets `target_index` that have more changes than places). 0 without calendar
/// positions or without such a target.
pub fn calendar_share(
    frame: &Frame,
    target_index: &[usize],
    season: usize,
    train_rows: usize,
) -> f64 {
    let Some(pos) = cycle_positions(frame, season) else {
        return 0.0;
    };
    let n = train_rows.min(frame.n_rows());
    let places = season.max(1);
    let place = |i: usize| ((pos[i] * places as f64).round() as usize) % places;
    let (mut total, mut measured) = (0.0, 0usize);
    for &c in target_index {
        let y = frame.column(c);
        let changes: Vec<(f64, usize)> = (1..n)
            .map(|i| (y[i] - y[i - 1], place(i)))
            .filter(|(d, _)| d.is_finite())
            .collect();
        let m = changes.len();
        if m <= places + 1 {
            continue;
        }
        let mean = changes.iter().map(|c| c.0).sum::<f64>() / m as f64;
        let (mut sum, mut count) = (vec![0.0; places], vec![0usize; places]);
        for &(d, p) in &changes {
            sum[p] += d;
            count[p] += 1;
        }
        let (mut tot, mut res) = (0.0, 0.0);
        for &(d, p) in &changes {
            tot += (d - mean) * (d - mean);
            let mp = sum[p] / count[p] as f64;
            res += (d - mp) * (d - mp);
        }
        if tot <= 0.0 {
            continue;
        }
        let used = count.iter().filter(|&&k| k > 0).count();
        let r2 = 1.0 - res / tot;
        total += 1.0 - (1.0 - r2) * (m as f64 - 1.0) / (m as f64 - used as f64).max(1.0);
        measured += 1;
    }
    if measured == 0 {
        0.0
    } else {
        total / measured as f64
    }
}

/// `frame` with the two [`CALENDAR_COLUMNS`] appended: the sine and cosine of each row's place
/// in the cycle of `season` rows ([`cycle_positions`]).
///
/// # Errors
/// No date index or no calendar cycle for `season`, or a column already named like one of
/// them.
pub fn with_calendar(frame: &Frame, season: usize) -> Result<Frame> {
    let bad = |reason: String| DataError::Calendar { reason };
    if let Some(c) = frame.columns.iter().find(|c| is_calendar_column(c)) {
        return Err(bad(format!(
            "{}: the table already has a column named \"{c}\"; rename it to add calendar inputs",
            frame.source.display()
        )));
    }
    let pos = cycle_positions(frame, season).ok_or_else(|| {
        bad(format!(
            "{}: calendar inputs need a time column of dates whose spacing gives a season \
             (monthly, quarterly, weekly, daily or several times a day); season {season} has none",
            frame.source.display()
        ))
    })?;
    let tau = std::f64::consts::TAU;
    let mut columns = frame.to_columns();
    columns.push(pos.iter().map(|p| (tau * p).sin()).collect());
    columns.push(pos.iter().map(|p| (tau * p).cos()).collect());
    let mut names = frame.columns.clone();
    names.extend(CALENDAR_COLUMNS.iter().map(|s| s.to_string()));
    let mut out = Frame::from_columns(frame.source.clone(), names, columns, frame.time.clone())?;
    out.missing = frame.missing.clone();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::TimeIndex;

    fn dated(labels: &[String], values: Vec<f64>) -> Frame {
        let keys = labels
            .iter()
            .map(|l| crate::frame::parse_time(l).unwrap().and_utc().timestamp() as f64)
            .collect();
        let time = TimeIndex::new("date", labels.iter().map(String::as_str), keys).unwrap();
        assert!(time.is_dates());
        Frame::from_columns("mem", vec!["y".into()], vec![values], Some(time)).unwrap()
    }

    fn months(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("{}-{:02}-01", 2000 + i / 12, i % 12 + 1))
            .collect()
    }

    #[test]
    fn places_in_the_cycle_come_from_the_dates() {
        let f = dated(&months(30), (0..30).map(f64::from).collect());
        let p = cycle_positions(&f, 12).unwrap();
        assert_eq!(p[0], 0.0);
        assert!((p[13] - 1.0 / 12.0).abs() < 1e-12);
        let hours: Vec<String> = (0..60)
            .map(|i| format!("2024-01-0{} {:02}:00:00", 1 + i / 24, i % 24))
            .collect();
        let h = dated(&hours, vec![1.0; 60]);
        let p = cycle_positions(&h, 24).unwrap();
        assert!((p[25] - 1.0 / 24.0).abs() < 1e-12, "{}", p[25]);
        // 2024-01-01 was a Monday: the week cycle starts there.
        let p = cycle_positions(&h, 168).unwrap();
        assert_eq!(p[0], 0.0);
        assert!((p[30] - 30.0 / 168.0).abs() < 1e-12);
        assert!(cycle_positions(&h, 5).is_none());
        assert!(cycle_positions(&f, 7).is_none());
    }

    #[test]
    fn the_share_separates_a_seasonal_series_from_a_random_walk() {
        let n = 240;
        let seasonal: Vec<f64> = (0..n)
            .map(|i| {
                (std::f64::consts::TAU * i as f64 / 12.0).sin() * 5.0 + ((i * 7) % 5) as f64 * 0.1
            })
            .collect();
        let mut walk = vec![0.0];
        for i in 1..n {
            let step = ((i * 7919 + 13) % 17) as f64 / 8.0 - 1.0;
            walk.push(walk[i - 1] + step);
        }
        let f = dated(&months(n), seasonal);
        assert!(calendar_share(&f, &[0], 12, 200) > 0.9);
        let w = dated(&months(n), walk);
        assert!(calendar_share(&w, &[0], 12, 200) < 0.2);
        let with = with_calendar(&f, 12).unwrap();
        assert_eq!(with.columns, ["y", "calendar_sin", "calendar_cos"]);
        assert!((with.value(3, 1) - 1.0).abs() < 1e-6, "April: sin(π/2)");
        let e = with_calendar(&with, 12).unwrap_err().to_string();
        assert!(e.contains("calendar_sin"), "{e}");
    }
}
