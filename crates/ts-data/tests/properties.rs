//! Property tests of windowing, splitting and scaling on random tables: every window's inputs are
//! exactly the `lookback` scaled rows ending at its anchor (no value after the anchor), its targets
//! the rows after it, the counts follow from the split, and scaling round-trips.

use proptest::prelude::*;
use ts_data::{Frame, ScalerKind, Series, SplitConfig, WindowSpec, Windows, anchors_in, prepare};

fn table(n: usize, f: usize, seed: u64) -> Frame {
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s % 20_000) as f64 / 100.0 - 100.0
    };
    let cols = (0..f).map(|i| format!("c{i}")).collect();
    let vals = (0..f).map(|_| (0..n).map(|_| next()).collect()).collect();
    Frame::from_columns("mem", cols, vals, None).unwrap()
}

fn kind(k: usize) -> ScalerKind {
    [ScalerKind::MinMax, ScalerKind::Standard, ScalerKind::Robust][k % 3]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn windows_read_exactly_their_rows_and_nothing_later(
        n in 25usize..160, f in 1usize..4, l in 1usize..9, h in 1usize..4,
        tr in 0.5f64..0.9, v in 0.0f64..0.3, k in 0usize..3, seed in any::<u64>(), t in 0usize..4,
    ) {
        let fr = table(n, f, seed);
        let target = format!("c{}", t % f);
        let spec = WindowSpec::new(l, h, fr.columns.clone(), vec![target]).unwrap();
        let split = SplitConfig { train: tr, validation: v };
        let Ok(p) = prepare(&fr, &spec, &split, kind(k)) else { return Ok(()); };
        let scaled = p.scaler.transform(&fr.to_columns());
        let ti = spec.target_index[0];
        let b = p.bounds;
        for (w, from, to) in [
            (&p.train, 0, b.val_start),
            (&p.validation, b.val_start, b.test_start),
            (&p.test, b.test_start, n),
        ] {
            // Count: every anchor whose targets all lie in the part.
            prop_assert_eq!(w.n, anchors_in(&spec, from, to).len());
            for i in 0..w.n {
                let a = w.anchors[i];
                let x = w.x_of(i);
                prop_assert_eq!(x.len(), l * f);
                for (step, row) in (a + 1 - l..=a).enumerate() {
                    for c in 0..f {
                        prop_assert_eq!(x[step * f + c], scaled[c][row]);
                    }
                }
                // The targets are the h rows after the anchor, inside the part.
                let y = w.y_of(i);
                for s in 0..h {
                    prop_assert_eq!(y[s], scaled[ti][a + 1 + s]);
                    prop_assert!(a + 1 + s >= from && a + 1 + s < to);
                }
                prop_assert_eq!(w.last_values(i, &spec.target_index), vec![scaled[ti][a]]);
            }
        }
        // The three sets share one series.
        prop_assert!(std::sync::Arc::ptr_eq(p.train.series(), p.test.series()));
    }

    #[test]
    fn build_over_subset_and_from_parts_agree(
        n in 10usize..80, f in 1usize..4, l in 1usize..6, seed in any::<u64>(),
        pick in proptest::collection::vec(any::<prop::sample::Index>(), 0..10),
    ) {
        let fr = table(n, f, seed);
        let spec = WindowSpec::new(l, 1, fr.columns.clone(), vec!["c0".into()]).unwrap();
        let scaler = ts_data::Scaler::fit(ScalerKind::Standard, &fr.columns, &fr.to_columns(), 0..n).unwrap();
        let cols = scaler.transform(&fr.to_columns());
        let rows = scaler.transform_rows(&fr.to_columns());
        prop_assert_eq!(&Series::from_columns(&cols), &Series::from_rows(rows.clone(), n, f));
        let anchors = anchors_in(&spec, 0, n);
        let built = Windows::build(&cols, &spec, anchors.clone(), true);
        let over = Windows::over(std::sync::Arc::new(Series::from_rows(rows, n, f)), &spec, anchors.clone(), true);
        prop_assert_eq!(built.all_x(), over.all_x());
        prop_assert_eq!(built.all_y(), over.all_y());
        let parts = Windows::from_parts(built.all_x(), built.all_y(), l, f, 1, anchors);
        if built.n > 0 {
            let idx: Vec<usize> = pick.iter().map(|p| p.index(built.n)).collect();
            let a = built.subset(&idx);
            let b = parts.subset(&idx);
            prop_assert_eq!(a.all_x(), b.all_x());
            prop_assert_eq!(a.all_y(), b.all_y());
            for (j, &i) in idx.iter().enumerate() {
                prop_assert_eq!(a.x_of(j), built.x_of(i));
                prop_assert_eq!(b.last_values(j, &[0]), built.last_values(i, &[0]));
            }
        }
    }

    #[test]
    fn inverse_of_transform_is_identity_through_f32(
        xs in proptest::collection::vec(-1e4f64..1e4, 2..60), k in 0usize..3, cut in 1usize..60,
    ) {
        let rows = 0..cut.min(xs.len());
        let s = ts_data::Scaler::fit(kind(k), &["a".into()], std::slice::from_ref(&xs), rows).unwrap();
        let scaled = s.transform_rows(std::slice::from_ref(&xs));
        for (x, y) in xs.iter().zip(&scaled) {
            prop_assert!(y.is_finite());
            let back = s.inverse_value(0, *y as f64);
            // f32 keeps 24 bits: relative to the column's scale.
            prop_assert!((back - x).abs() <= 1e-6 * (s.scale[0] * (1.0 + (*y as f64).abs())), "{} vs {}", back, x);
        }
    }
}
