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
    } else if (28.0..=31.0).contains(&days) {
        vec![12]
    } else if (89.0..=92.0).contains(&days) {
        vec![4]
    } else {
        Vec::new()
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

    #[test]
    fn primary_season_needs_three_cycles() {
        assert_eq!(primary_season(&[48, 336], 2900), 336);
        assert_eq!(primary_season(&[48, 336], 1000), 48);
        assert_eq!(primary_season(&[12], 30), 1);
        assert_eq!(primary_season(&[], 1000), 1);
    }
}
