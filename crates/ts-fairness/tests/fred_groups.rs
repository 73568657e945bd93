//! The seed's five group columns on the FRED data come out with sensible shares.

use std::path::PathBuf;

use ts_data::{LoadOptions, load};
use ts_fairness::{Grouping, SeedGrouping, quantile_bins};

fn fred() -> ts_data::Frame {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/macro_fred_monthly_1990_2025.csv");
    load(&p, &LoadOptions::default()).unwrap()
}

fn shares(g: &Grouping) -> Vec<f64> {
    g.groups.iter().map(|x| x.share).collect()
}

#[test]
fn seed_groupings_have_sensible_shares() {
    let f = fred();
    assert_eq!(f.n_rows(), 423);
    for s in [
        SeedGrouping::Economic,
        SeedGrouping::Inflation,
        SeedGrouping::Risk,
    ] {
        let g = s.make(&f).unwrap();
        assert_eq!(g.name, s.column());
        let sh = shares(&g);
        assert_eq!(sh.len(), 2);
        // A median split is about 50/50 (ties at the median go to the low group).
        assert!(
            sh.iter().all(|x| (0.42..=0.58).contains(x)),
            "{}: {sh:?}",
            g.name
        );
        assert!((sh.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
    let econ = SeedGrouping::Economic.make(&f).unwrap();
    assert!(econ.groups[0].description.contains("Federal Funds Rate"));
    let t = SeedGrouping::Time.make(&f).unwrap();
    let counts: Vec<usize> = t.groups.iter().map(|g| g.count).collect();
    // 1990-1999: 120 months, 2000-2007: 96, 2008-2014: 84, 2015-2025-03: 123.
    assert_eq!(counts, vec![120, 96, 84, 123]);
    let mut pct: Vec<i64> = shares(&t)
        .iter()
        .map(|s| (s * 100.0).round() as i64)
        .collect();
    pct.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(pct, vec![29, 28, 23, 20], "the seed's era shares");
    let c = SeedGrouping::Combined.make(&f).unwrap();
    assert_eq!(c.groups.len(), 4);
    assert_eq!(c.groups.iter().map(|g| g.count).sum::<usize>(), 423);
    assert!(c.groups.iter().all(|g| g.count > 40), "{:?}", shares(&c));
    // The cross is consistent with its two splits.
    let infl = SeedGrouping::Inflation.make(&f).unwrap();
    for i in 0..423 {
        let want = match (econ.labels[i].as_str(), infl.labels[i].as_str()) {
            ("A", "A") => "A",
            ("A", "B") => "B",
            ("B", "A") => "C",
            _ => "D",
        };
        assert_eq!(c.labels[i], want, "row {i}");
    }
}

#[test]
fn quantile_bins_on_fred_are_balanced() {
    let f = fred();
    let g = quantile_bins(&f, "Federal Funds Rate", 4, "FF_Quartile");
    // The federal funds rate sat near zero for years, so quartile edges collide: a clear error.
    match g {
        Ok(g) => assert!(g.groups.iter().all(|x| x.count > 0)),
        Err(e) => assert!(e.to_string().contains("too many equal values"), "{e}"),
    }
    let g = quantile_bins(&f, "Inflation Rate (CPI)", 5, "Infl_Q").unwrap();
    for x in &g.groups {
        assert!((0.18..=0.22).contains(&x.share), "{x:?}");
    }
}
