//! Small numeric helpers: ranges, gaps (NaN), tick labels, legend placement, bins.

use plotters::chart::SeriesLabelPosition;

/// Splits `(x, y)` points into runs of finite `y`, so NaN/inf values leave gaps.
pub(crate) fn finite_runs<X: Copy>(
    points: impl IntoIterator<Item = (X, f64)>,
) -> Vec<Vec<(X, f64)>> {
    let mut runs = Vec::new();
    let mut current = Vec::new();
    for (x, y) in points {
        if y.is_finite() {
            current.push((x, y));
        } else if !current.is_empty() {
            runs.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    runs
}

/// Thins a run of points (x increasing) for drawing as a line `buckets` pixels wide: split the x
/// range into `buckets` equal parts and keep, of each, its first, lowest, highest and last point,
/// in x order. The line through them covers the same pixels as the line through every point, so
/// spikes still show. A run of at most `4 × buckets` points is kept whole.
pub(crate) fn decimate_min_max(run: &[(i32, f64)], buckets: usize) -> Vec<(i32, f64)> {
    let buckets = buckets.max(1);
    if run.len() <= 4 * buckets {
        return run.to_vec();
    }
    let (x0, x1) = (i64::from(run[0].0), i64::from(run[run.len() - 1].0));
    let span = (x1 - x0 + 1).max(1) as i128;
    let bucket = |x: i32| ((i64::from(x) - x0) as i128 * buckets as i128 / span) as usize;
    let mut out = Vec::with_capacity(4 * buckets);
    let mut start = 0;
    while start < run.len() {
        let b = bucket(run[start].0);
        let mut end = start + 1;
        while end < run.len() && bucket(run[end].0) == b {
            end += 1;
        }
        let part = &run[start..end];
        let (mut lo, mut hi) = (0, 0);
        for (i, p) in part.iter().enumerate() {
            if p.1 < part[lo].1 {
                lo = i;
            }
            if p.1 > part[hi].1 {
                hi = i;
            }
        }
        let mut keep = [0, lo.min(hi), lo.max(hi), part.len() - 1];
        keep.sort_unstable();
        let mut last = None;
        for k in keep {
            if last != Some(k) {
                out.push(part[k]);
                last = Some(k);
            }
        }
        start = end;
    }
    out
}

/// Keeps, in order, the points of which fewer than `per_pixel` earlier ones fall on the same
/// pixel (`pixel` maps a point to its pixel).
pub(crate) fn thin_per_pixel<P: Copy>(
    points: &[P],
    per_pixel: u8,
    pixel: impl Fn(&P) -> (i32, i32),
) -> Vec<P> {
    if points.len() <= 2000 {
        return points.to_vec();
    }
    let mut seen: std::collections::HashMap<(i32, i32), u8> = std::collections::HashMap::new();
    points
        .iter()
        .filter(|p| {
            let c = seen.entry(pixel(p)).or_insert(0);
            *c += 1;
            *c <= per_pixel
        })
        .copied()
        .collect()
}

/// Smallest and largest finite value, if any.
pub(crate) fn finite_range(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// Pads a linear range by `frac` of its span on both sides; a zero-width range
/// (constant series) is widened around its value so it can still be drawn.
pub(crate) fn padded(lo: f64, hi: f64, frac: f64) -> (f64, f64) {
    let span = hi - lo;
    let (lo, hi) = if span > f64::EPSILON * lo.abs().max(hi.abs()).max(1e-300) {
        (lo - span * frac, hi + span * frac)
    } else {
        let half = if lo.abs() > 0.0 { lo.abs() * 0.1 } else { 1.0 };
        (lo - half, hi + half)
    };
    if lo.is_finite() && hi.is_finite() {
        (lo, hi)
    } else {
        // Values near f64::MAX: drop the padding rather than overflow.
        (lo.max(f64::MIN), hi.min(f64::MAX))
    }
}

/// Pads a positive range for a log axis by `frac` of its span in decades.
pub(crate) fn log_padded(lo: f64, hi: f64, frac: f64) -> (f64, f64) {
    let decades = (hi / lo).log10().max(0.0);
    let pad = 10f64.powf(decades.max(0.1) * frac);
    (lo / pad, hi * pad)
}

/// Whether losses spanning `lo..=hi` deserve a log-scale axis (more than two decades).
pub(crate) fn wants_log_scale(lo: f64, hi: f64) -> bool {
    lo > 0.0 && hi / lo > 100.0
}

/// Formats a tick value compactly: at most six significant digits, trailing
/// zeros removed, scientific notation for very large or small magnitudes, and
/// values that are zero up to float noise (relative to `span`) shown as `0`.
pub(crate) fn fmt_tick(v: f64, span: f64) -> String {
    let a = v.abs();
    if a == 0.0 || (span.is_finite() && span > 0.0 && a < span * 1e-9) {
        return "0".to_string();
    }
    if !(1e-4..1e6).contains(&a) {
        let s = format!("{v:.3e}");
        return match s.split_once('e') {
            Some((mantissa, exp)) => format!("{}e{exp}", trim_zeros(mantissa)),
            None => s,
        };
    }
    let magnitude = a.log10().floor() as i32;
    let decimals = (5 - magnitude).clamp(0, 9) as usize;
    trim_zeros(&format!("{v:.decimals$}")).to_string()
}

/// A statistic for a caption, four significant digits.
pub(crate) fn fmt_stat(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    if !(1e-3..1e5).contains(&a) {
        let s = format!("{v:.2e}");
        return match s.split_once('e') {
            Some((mantissa, exp)) => format!("{}e{exp}", trim_zeros(mantissa)),
            None => s,
        };
    }
    let magnitude = a.log10().floor() as i32;
    let decimals = (3 - magnitude).clamp(0, 6) as usize;
    trim_zeros(&format!("{v:.decimals$}")).to_string()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Picks the plot corner with the fewest data points for the legend.
///
/// `points` are normalised to `0..=1` on both axes (y pointing up).
pub(crate) fn legend_corner(points: impl IntoIterator<Item = (f64, f64)>) -> SeriesLabelPosition {
    // [upper right, upper left, lower right, lower left]: order is the tie-break preference.
    let mut counts = [0usize; 4];
    for (x, y) in points {
        if !(x.is_finite() && y.is_finite()) {
            continue;
        }
        let right = x >= 0.6;
        let left = x <= 0.4;
        let upper = y >= 0.65;
        let lower = y <= 0.35;
        if upper && right {
            counts[0] += 1;
        }
        if upper && left {
            counts[1] += 1;
        }
        if lower && right {
            counts[2] += 1;
        }
        if lower && left {
            counts[3] += 1;
        }
    }
    let best = (0..4).min_by_key(|&i| (counts[i], i)).unwrap_or(0);
    match best {
        0 => SeriesLabelPosition::UpperRight,
        1 => SeriesLabelPosition::UpperLeft,
        2 => SeriesLabelPosition::LowerRight,
        _ => SeriesLabelPosition::LowerLeft,
    }
}

/// Step plotters picks for integer key points on a range of `range_size`
/// when asked for at most `max_points` (a copy of plotters 0.3.7's
/// `compute_i32_key_points` search, so the labelling can be predicted).
fn plotters_int_step(range_size: i64, max_points: usize) -> i64 {
    let range = range_size as f64;
    let max = max_points as f64;
    let mut scale: i64 = 1;
    'outer: while (range / scale as f64).ceil() > max {
        let next = scale.saturating_mul(10);
        for candidate in [scale.saturating_mul(2), scale.saturating_mul(5), next] {
            scale = candidate;
            if (range / candidate as f64).ceil() < max {
                break 'outer;
            }
        }
        scale = next;
        if scale == i64::MAX {
            break;
        }
    }
    scale
}

/// The label count to request from plotters for an index axis `0..=last`
/// drawn `axis_width` px wide, with labels about `label_width` px wide: the
/// densest "nice" labelling (at most 8 labels) whose labels do not overlap.
///
/// Never below 2: plotters' integer key-point search overflows when asked for
/// fewer than two points.
pub(crate) fn index_label_request(last: i64, axis_width: f64, label_width: f64) -> usize {
    let last = last.max(1);
    let px_per_unit = axis_width / last as f64;
    for request in (2..=9).rev() {
        let step = plotters_int_step(last, request);
        let count = last / step + 1;
        if count <= 8 && step as f64 * px_per_unit >= label_width {
            return request;
        }
    }
    2
}

/// Approximate width in px of a label of `chars` characters at `text_size`
/// px (DejaVu Sans digits are 0.64 em wide), plus a gap.
pub(crate) fn label_width(chars: usize, text_size: f64) -> f64 {
    chars.max(1) as f64 * 0.64 * text_size + 0.9 * text_size
}

/// Mean and (population) standard deviation of the finite values.
pub(crate) fn mean_sd(values: &[f64]) -> Option<(f64, f64)> {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        return None;
    }
    let n = finite.len() as f64;
    let mean = finite.iter().sum::<f64>() / n;
    let var = finite.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    Some((mean, var.sqrt()))
}

/// One histogram bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bin {
    pub lo: f64,
    pub hi: f64,
    pub count: usize,
}

/// Equal-width bins over the finite values (about √n bins, 5 to 40).
pub(crate) fn histogram(values: &[f64]) -> Vec<Bin> {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let Some((lo, hi)) = finite_range(finite.iter().copied()) else {
        return Vec::new();
    };
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        padded(lo, hi, 0.0)
    };
    let n_bins = ((finite.len() as f64).sqrt().ceil() as usize).clamp(5, 40);
    let width = (hi - lo) / n_bins as f64;
    let mut bins: Vec<Bin> = (0..n_bins)
        .map(|i| Bin {
            lo: lo + width * i as f64,
            hi: if i + 1 == n_bins {
                hi
            } else {
                lo + width * (i + 1) as f64
            },
            count: 0,
        })
        .collect();
    for v in finite {
        let i = (((v - lo) / width).floor() as usize).min(n_bins - 1);
        bins[i].count += 1;
    }
    bins
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimation_keeps_each_buckets_extremes_in_order() {
        // 10,000 points, a spike up at 1234 and one down at 8765, drawn 100 px wide.
        let run: Vec<(i32, f64)> = (0..10_000)
            .map(|i| {
                let y = match i {
                    1234 => 50.0,
                    8765 => -50.0,
                    _ => (f64::from(i) / 300.0).sin(),
                };
                (i, y)
            })
            .collect();
        let thin = decimate_min_max(&run, 100);
        assert!(thin.len() <= 400, "{} points", thin.len());
        assert!(thin.windows(2).all(|w| w[0].0 < w[1].0), "x order");
        assert!(thin.contains(&(1234, 50.0)) && thin.contains(&(8765, -50.0)));
        assert_eq!(thin.first(), run.first());
        assert_eq!(thin.last(), run.last());
        // Per bucket of 100 points: the same minimum and maximum as the full data.
        for b in 0..100 {
            let full = &run[b * 100..(b + 1) * 100];
            let kept: Vec<f64> = thin
                .iter()
                .filter(|p| (p.0 as usize) / 100 == b)
                .map(|p| p.1)
                .collect();
            let max = |v: &mut dyn Iterator<Item = f64>| v.fold(f64::MIN, f64::max);
            let min = |v: &mut dyn Iterator<Item = f64>| v.fold(f64::MAX, f64::min);
            assert_eq!(
                max(&mut kept.iter().copied()),
                max(&mut full.iter().map(|p| p.1))
            );
            assert_eq!(
                min(&mut kept.iter().copied()),
                min(&mut full.iter().map(|p| p.1))
            );
        }
        // Few points: unchanged.
        assert_eq!(decimate_min_max(&run[..300], 100), run[..300].to_vec());
    }

    #[test]
    fn thinning_keeps_at_most_k_points_per_pixel_in_order() {
        let points: Vec<(f64, f64)> = (0..10_000)
            .map(|i| (f64::from(i % 100) / 10.0, f64::from(i / 1000)))
            .collect();
        let pixel = |p: &(f64, f64)| (p.0.round() as i32, p.1 as i32);
        let kept = thin_per_pixel(&points, 4, pixel);
        let mut count = std::collections::HashMap::new();
        for p in &kept {
            *count.entry(pixel(p)).or_insert(0) += 1;
        }
        assert!(count.values().all(|&c| c <= 4));
        // Every pixel that had a point still has one.
        let all: std::collections::HashSet<_> = points.iter().map(pixel).collect();
        assert_eq!(count.len(), all.len());
        // The kept points are the first ones of each pixel, in the original order.
        let positions: Vec<usize> = kept
            .iter()
            .map(|k| points.iter().position(|p| p == k).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(thin_per_pixel(&points[..100], 1, pixel).len(), 100);
    }

    #[test]
    fn runs_split_on_nan() {
        let runs = finite_runs([
            (0, 1.0),
            (1, f64::NAN),
            (2, 2.0),
            (3, 3.0),
            (4, f64::INFINITY),
        ]);
        assert_eq!(runs, vec![vec![(0, 1.0)], vec![(2, 2.0), (3, 3.0)]]);
        assert!(finite_runs([(0, f64::NAN)]).is_empty());
    }

    #[test]
    fn ranges_pad_constant_series() {
        assert_eq!(finite_range([f64::NAN, 2.0, -1.0]), Some((-1.0, 2.0)));
        assert_eq!(finite_range([f64::NAN]), None);
        let (lo, hi) = padded(5.0, 5.0, 0.05);
        assert!(lo < 5.0 && hi > 5.0);
        let (lo, hi) = padded(0.0, 0.0, 0.05);
        assert_eq!((lo, hi), (-1.0, 1.0));
        let (lo, hi) = padded(0.0, 10.0, 0.1);
        assert_eq!((lo, hi), (-1.0, 11.0));
        let (lo, hi) = padded(-f64::MAX, f64::MAX, 0.1);
        assert!(lo.is_finite() && hi.is_finite());
        let (lo, hi) = log_padded(1e-3, 1.0, 0.05);
        assert!(lo < 1e-3 && hi > 1.0 && lo > 0.0);
        assert!(wants_log_scale(1e-3, 1.0));
        assert!(!wants_log_scale(0.1, 1.0));
        assert!(!wants_log_scale(0.0, 1.0));
    }

    #[test]
    fn ticks_are_compact() {
        assert_eq!(fmt_tick(0.30000000000000004, 1.0), "0.3");
        assert_eq!(fmt_tick(5.551115123125783e-17, 1.0), "0");
        assert_eq!(fmt_tick(1250.0, 1000.0), "1250");
        assert_eq!(fmt_tick(1000.5, 2.0), "1000.5");
        assert_eq!(fmt_tick(-2.5, 10.0), "-2.5");
        assert_eq!(fmt_tick(1e-5, 1.0), "1e-5");
        assert_eq!(fmt_tick(2.5e7, 1e8), "2.5e7");
        assert_eq!(fmt_stat(0.123456), "0.1235");
        assert_eq!(fmt_stat(-12.0), "-12");
    }

    #[test]
    fn legend_avoids_data() {
        // Decreasing curve: upper left and lower right are crowded.
        let pts: Vec<(f64, f64)> = (0..=10)
            .map(|i| (i as f64 / 10.0, 1.0 - i as f64 / 10.0))
            .collect();
        assert!(matches!(
            legend_corner(pts),
            SeriesLabelPosition::UpperRight
        ));
        // Increasing curve: upper right is crowded.
        let pts: Vec<(f64, f64)> = (0..=10)
            .map(|i| (i as f64 / 10.0, i as f64 / 10.0))
            .collect();
        assert!(matches!(legend_corner(pts), SeriesLabelPosition::UpperLeft));
    }

    /// Labels plotters would draw on `0..=last` for `request`.
    fn labels(last: i64, request: usize) -> i64 {
        last / plotters_int_step(last, request) + 1
    }

    #[test]
    fn plotters_step_search_is_replicated() {
        assert_eq!(plotters_int_step(119, 5), 50);
        assert_eq!(plotters_int_step(119, 8), 20);
        assert_eq!(plotters_int_step(5, 9), 1);
        assert_eq!(plotters_int_step(1, 2), 1);
        assert_eq!(plotters_int_step(1_000_000, 2), 1_000_000);
    }

    #[test]
    fn index_labels_fit_without_overlap() {
        let w = label_width(10, 11.0);
        // A wide axis gets 6-8 labels.
        let r = index_label_request(119, 900.0, w);
        assert!((6..=8).contains(&labels(119, r)), "{}", labels(119, r));
        // Labels never overlap.
        for last in [1, 2, 7, 30, 95, 119, 500, 8759, 100_000] {
            for width in [150.0, 300.0, 540.0, 900.0] {
                let r = index_label_request(last, width, w);
                assert!(r >= 2);
                let step = plotters_int_step(last, r);
                let n = labels(last, r);
                assert!(n <= 8, "last {last} width {width}: {n} labels");
                if r > 2 {
                    assert!(
                        step as f64 * width / last as f64 >= w,
                        "last {last} width {width}"
                    );
                }
            }
        }
    }

    #[test]
    fn histogram_counts_every_finite_value() {
        let values: Vec<f64> = (0..100).map(|i| i as f64).chain([f64::NAN]).collect();
        let bins = histogram(&values);
        assert_eq!(bins.len(), 10);
        assert_eq!(bins.iter().map(|b| b.count).sum::<usize>(), 100);
        let constant = histogram(&[2.0, 2.0, 2.0]);
        assert_eq!(constant.iter().map(|b| b.count).sum::<usize>(), 3);
        assert!(histogram(&[f64::NAN]).is_empty());
        let (m, s) = mean_sd(&[1.0, 3.0, f64::NAN]).unwrap();
        assert_eq!((m, s), (2.0, 1.0));
    }
}
