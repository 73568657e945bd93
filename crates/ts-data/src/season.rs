//! Seasonal periods from the spacing of a time index.
//!
//! Forecasts are judged against the seasonal naive forecast ("the same as one season ago"), which
//! needs the season length in rows. [`detect_seasons`] reads it off the median spacing of the time
//! stamps: half-hourly data has daily (48) and weekly (336) seasons, hourly data 24 and 168, any
//! spacing that divides a day `day` and `7 × day`, daily data 7, weekly 52, monthly 12 and
//! quarterly 4. Yearly data and a column of plain numbers have none. [`primary_season`] picks the
//! longest candidate that the training rows hold often enough to learn from.

use crate::frame::Frame;

const DAY: f64 = 86_400.0;

/// Candidate seasonal periods (in rows, shortest first) of a frame's time index; empty for yearly
/// or irregular data and for an index of plain numbers (or none).
pub fn detect_seasons(frame: &Frame) -> Vec<usize> {
    let Some(t) = &frame.time else {
        return Vec::new();
    };
    if !t.is_dates() {
        return Vec::new();
    }
    seasons_of_step(median_step(t.keys()))
}

/// Candidate seasons for a time step of `step` seconds (see [`detect_seasons`]).
pub fn seasons_of_step(step: f64) -> Vec<usize> {
    if !(step.is_finite() && step > 0.0) {
        return Vec::new();
    }
    let days = step / DAY;
    let near = |target: f64, tol: f64| (days - target).abs() <= tol;
    if days < 1.0 - 1e-9 {
        // Sub-daily: seasons of a day and a week when the step divides a day.
        let per_day = DAY / step;
        let rounded = per_day.round();
        if rounded >= 2.0 && (per_day - rounded).abs() < 1e-6 {
            let d = rounded as usize;
            return vec![d, 7 * d];
        }
        return Vec::new();
    }
    if near(1.0, 1e-6) {
        vec![7]
    } else if near(7.0, 1e-6) {
        vec![52]
    } else {
        match calendar_months(step) {
            Some(1) => vec![12],
            Some(3) => vec![4],
            _ => Vec::new(),
        }
    }
}

/// The calendar months a step of `step` seconds stands for: 1 for 28–31 days, 3 for 89–92, 12
/// for 365–366; `None` for any other step.
fn calendar_months(step: f64) -> Option<i64> {
    let days = step / DAY;
    if (28.0..=31.0).contains(&days) {
        Some(1)
    } else if (89.0..=92.0).contains(&days) {
        Some(3)
    } else if (365.0..=366.0).contains(&days) {
        Some(12)
    } else {
        None
    }
}

/// The longest of `candidates` that `train_rows` hold at least three times (so that a model sees
/// each seasonal position a few times), or 1 (no season) when none does.
pub fn primary_season(candidates: &[usize], train_rows: usize) -> usize {
    candidates
        .iter()
        .copied()
        .filter(|&m| m >= 2 && m.saturating_mul(3) <= train_rows)
        .max()
        .unwrap_or(1)
}

/// How many rows before the last observed row the seasonal naive forecast of `step` (1-based)
/// reads: the same position one season before the forecast row, `m·⌈step/m⌉ − step` (for
/// `step > m`, whole seasons further back). `season <= 1` gives 0, the naive forecast.
pub fn seasonal_lag(season: usize, step: usize) -> usize {
    let m = season.max(1);
    m * step.div_ceil(m) - step
}

/// Steps of a dated time index longer than its usual step: rows missing from a regular table
/// (see [`time_gaps`]). Windows, lags and seasons count rows, so they span such a gap as if it
/// were one step.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TimeGaps {
    /// The usual step in words: `1 month`, `1 day`, `30 minutes`, ….
    pub usual_step: String,
    /// How many steps are longer than the usual one.
    pub long_steps: usize,
    /// How many rows of the usual step they leave out.
    pub missing_rows: usize,
    /// The time stamps on either side of the first long step.
    pub first: (String, String),
    /// The 1-based data row after the first long step.
    pub first_row: usize,
}

impl std::fmt::Display for TimeGaps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = if self.long_steps == 1 { "" } else { "s" };
        let r = if self.missing_rows == 1 { "" } else { "s" };
        write!(
            f,
            "{} step{s} longer than the usual {} ({} row{r} missing), the first from {} to {} \
             (row {}); windows and seasonal lags count rows and span them",
            self.long_steps,
            self.usual_step,
            self.missing_rows,
            self.first.0,
            self.first.1,
            self.first_row
        )
    }
}

/// The long steps of a frame's dated time index ([`TimeGaps`]); `None` when there are none, for
/// an index of plain numbers (or none) and for a step that is not a regular one (monthly,
/// quarterly and yearly steps are counted in calendar months, the others in seconds).
pub fn time_gaps(frame: &Frame) -> Option<TimeGaps> {
    let step = median_date_step(frame)?;
    let t = frame.time.as_ref()?;
    let keys = t.keys();
    let days = step / DAY;
    let months = |k: f64| {
        chrono::DateTime::from_timestamp(k as i64, 0).map(|d| {
            use chrono::Datelike;
            i64::from(d.year()) * 12 + i64::from(d.month0())
        })
    };
    // (usual step in words, rows of the usual step each step spans).
    let (usual, spans): (String, Box<dyn Fn(f64, f64) -> i64>) = if let Some(per) =
        calendar_months(step)
    {
        let spans = move |a: f64, b: f64| match (months(a), months(b)) {
            (Some(x), Some(y)) => (y - x) / per,
            _ => 1,
        };
        (step_in_words(step), Box::new(spans))
    } else if (days - 1.0).abs() < 1e-6 && keys.iter().all(|&k| weekday(k).is_some_and(|d| d < 5)) {
        // A table of weekdays (markets, offices): weekends are not missing rows, weekdays are.
        let spans = |a: f64, b: f64| {
            let whole = ((b - a) / DAY).round() as i64;
            (1..=whole)
                .filter(|d| weekday(a + *d as f64 * DAY).is_some_and(|w| w < 5))
                .count() as i64
        };
        ("1 weekday".to_string(), Box::new(spans))
    } else {
        let spans = move |a: f64, b: f64| ((b - a) / step).round() as i64;
        (step_words(step), Box::new(spans))
    };
    let mut gaps: Option<TimeGaps> = None;
    for (i, w) in keys.windows(2).enumerate() {
        let n = spans(w[0], w[1]);
        if n > 1 {
            let g = gaps.get_or_insert_with(|| TimeGaps {
                usual_step: usual.clone(),
                long_steps: 0,
                missing_rows: 0,
                first: (t.label(i), t.label(i + 1)),
                first_row: i + 2,
            });
            g.long_steps += 1;
            g.missing_rows += (n - 1) as usize;
        }
    }
    gaps
}

/// The day of the week of a time key (0 = Monday … 6 = Sunday).
fn weekday(k: f64) -> Option<u32> {
    use chrono::Datelike;
    chrono::DateTime::from_timestamp(k as i64, 0).map(|d| d.weekday().num_days_from_monday())
}

/// A time step in seconds in words: `1 month`, `1 quarter`, `1 year` for calendar steps (28–31,
/// 89–92 and 365–366 days), else `30 minutes`, `1 hour`, `1 day`, `7 days`, … (rounded to whole
/// seconds).
pub fn step_in_words(step: f64) -> String {
    match calendar_months(step) {
        Some(1) => "1 month".into(),
        Some(3) => "1 quarter".into(),
        Some(_) => "1 year".into(),
        None => step_words(step),
    }
}

/// The median spacing of a frame's dated time index in seconds; `None` for an index of plain
/// numbers, none, or fewer than two distinct time stamps.
pub fn median_date_step(frame: &Frame) -> Option<f64> {
    let t = frame.time.as_ref().filter(|t| t.is_dates())?;
    Some(median_step(t.keys())).filter(|s| s.is_finite() && *s > 0.0)
}

/// A step in seconds as words: `30 minutes`, `1 hour`, `1 day`, `7 days`, `90 seconds`.
fn step_words(step: f64) -> String {
    let s = step.round() as u64;
    let (n, unit) = if s.is_multiple_of(86_400) {
        (s / 86_400, "day")
    } else if s.is_multiple_of(3600) {
        (s / 3600, "hour")
    } else if s.is_multiple_of(60) {
        (s / 60, "minute")
    } else {
        (s, "second")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// Median of the positive differences of sorted keys (NaN without any).
pub(crate) fn median_step(keys: &[f64]) -> f64 {
    let mut d: Vec<f64> = keys
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|d| *d > 0.0)
        .collect();
    if d.is_empty() {
        return f64::NAN;
    }
    d.sort_by(f64::total_cmp);
    d[d.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_map_to_the_usual_seasons() {
        assert_eq!(seasons_of_step(1800.0), vec![48, 336]);
        assert_eq!(seasons_of_step(3600.0), vec![24, 168]);
        assert_eq!(seasons_of_step(900.0), vec![96, 672]);
        assert_eq!(seasons_of_step(DAY), vec![7]);
        assert_eq!(seasons_of_step(7.0 * DAY), vec![52]);
        assert_eq!(seasons_of_step(31.0 * DAY), vec![12]);
        assert_eq!(seasons_of_step(28.0 * DAY), vec![12]);
        assert_eq!(seasons_of_step(91.0 * DAY), vec![4]);
        assert!(seasons_of_step(365.0 * DAY).is_empty());
        assert!(seasons_of_step(7000.0).is_empty());
        assert!(seasons_of_step(f64::NAN).is_empty());
    }

    #[test]
    fn seasonal_lag_reads_one_season_before_the_forecast_row() {
        // Season 4: steps 1..=8 read 3, 2, 1, 0, 3, 2, 1, 0 rows before the last one.
        let lags: Vec<usize> = (1..=8).map(|s| seasonal_lag(4, s)).collect();
        assert_eq!(lags, vec![3, 2, 1, 0, 3, 2, 1, 0]);
        assert_eq!(seasonal_lag(1, 5), 0);
        assert_eq!(seasonal_lag(0, 5), 0);
    }

    fn dated(labels: &[&str]) -> Frame {
        let keys = labels
            .iter()
            .map(|l| crate::frame::parse_time(l).unwrap().and_utc().timestamp() as f64)
            .collect();
        let time = crate::TimeIndex::new("date", labels, keys).unwrap();
        Frame::from_columns(
            "t.csv",
            vec!["a".into()],
            vec![vec![1.0; labels.len()]],
            Some(time),
        )
        .unwrap()
    }

    #[test]
    fn gaps_in_a_regular_index_are_counted_in_its_own_step() {
        let monthly = dated(&["2020-01-01", "2020-02-01", "2020-03-01", "2020-04-01"]);
        assert_eq!(time_gaps(&monthly), None);
        let g = time_gaps(&dated(&[
            "2020-01-01",
            "2020-02-01",
            "2020-03-01",
            "2020-06-01",
            "2020-07-01",
            "2020-09-01",
        ]))
        .unwrap();
        assert_eq!((g.long_steps, g.missing_rows, g.first_row), (2, 3, 4));
        assert_eq!(g.usual_step, "1 month");
        assert_eq!(
            g.first,
            ("2020-03-01".to_string(), "2020-06-01".to_string())
        );
        let text = g.to_string();
        assert!(
            text.starts_with("2 steps longer than the usual 1 month (3 rows missing)"),
            "{text}"
        );
        let hourly = dated(&[
            "2020-01-01 00:00",
            "2020-01-01 01:00",
            "2020-01-01 02:00",
            "2020-01-01 05:00",
            "2020-01-01 06:00",
        ]);
        let g = time_gaps(&hourly).unwrap();
        assert_eq!(
            (g.usual_step.as_str(), g.long_steps, g.missing_rows),
            ("1 hour", 1, 2)
        );
        let quarterly = dated(&["2020-01-01", "2020-04-01", "2020-07-01", "2021-01-01"]);
        let g = time_gaps(&quarterly).unwrap();
        assert_eq!((g.usual_step.as_str(), g.missing_rows), ("1 quarter", 1));
        // Weekdays only: weekends are no gap, a missing Wednesday is.
        let weekdays = dated(&[
            "2024-01-04",
            "2024-01-05",
            "2024-01-08",
            "2024-01-09",
            "2024-01-11",
            "2024-01-12",
        ]);
        let g = time_gaps(&weekdays).unwrap();
        assert_eq!(
            (g.usual_step.as_str(), g.long_steps, g.missing_rows),
            ("1 weekday", 1, 1)
        );
        assert_eq!(g.first_row, 5);
        assert_eq!(step_words(1800.0), "30 minutes");
        assert_eq!(step_words(7.0 * DAY), "7 days");
    }

    #[test]
    fn primary_season_needs_three_cycles() {
        assert_eq!(primary_season(&[48, 336], 2900), 336);
        assert_eq!(primary_season(&[48, 336], 1000), 48);
        assert_eq!(primary_season(&[12], 30), 1);
        assert_eq!(primary_season(&[], 1000), 1);
    }
}
