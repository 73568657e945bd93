//! The compact frame: f32 values that read back as the file's numbers, time labels printed from
//! their keys or kept as text, and `prepare_owned` scaling the values in place.

use std::path::Path;

use ts_data::{
    DataError, FillPolicy, Frame, LoadOptions, ScalerKind, SplitConfig, TimeIndex, WindowSpec,
    prepare, prepare_owned, read_csv, widen,
};

fn csv(text: &str, fill: FillPolicy) -> Result<Frame, DataError> {
    read_csv(
        Path::new("t.csv"),
        text.as_bytes(),
        None,
        &LoadOptions {
            fill,
            ..Default::default()
        },
    )
}

#[test]
fn values_read_back_as_the_files_numbers() {
    // Up to 7 significant digits come back exactly; f32 alone would not (0.1f32 as f64 is not 0.1).
    for x in [
        0.1, 2.82, 10008.874, 13324.6, -0.000123, 1e-30, 123456.7, 3.0e38,
    ] {
        assert_eq!(widen(x as f32), x, "{x}");
    }
    assert!(widen(f32::NAN).is_nan());
    let f = csv(
        "date,a,b\n2020-01-01,0.1,10008.874\n2020-01-02,2.82,-7\n",
        FillPolicy::Error,
    )
    .unwrap();
    assert_eq!(f.column(0), vec![0.1, 2.82]);
    assert_eq!(f.to_columns(), vec![vec![0.1, 2.82], vec![10008.874, -7.0]]);
    assert_eq!(f.value(1, 1), -7.0);
    assert_eq!(f.values().row(0), &[0.1f32, 10008.874]);
}

#[test]
fn a_number_too_large_for_f32_is_refused_naming_the_cell() {
    let e = csv("date,a\n2020-01-01,1\n2020-01-02,1e39\n", FillPolicy::Ffill).unwrap_err();
    assert!(
        matches!(e, DataError::OutOfRange { ref column, row: 2, .. } if column == "a"),
        "{e}"
    );
    assert!(
        e.to_string().contains("1e39") && e.to_string().contains("t.csv"),
        "{e}"
    );
    let e = Frame::from_columns("m", vec!["a".into()], vec![vec![1.0, -1e300]], None).unwrap_err();
    assert!(matches!(e, DataError::OutOfRange { row: 2, .. }), "{e}");
}

#[test]
fn time_labels_round_trip_whether_printed_or_kept() {
    // Dates and date-times are printed from their keys, in one form for the column: with a
    // time of day once some key has one (pandas reads a column of one form only).
    let f = csv(
        "date,a\n2020-01-01,1\n2020-01-01 06:30:00,2\n2020-02-01T00:00:00,3\n",
        FillPolicy::Error,
    )
    .unwrap();
    let t = f.time.as_ref().unwrap();
    assert_eq!(
        t.labels().collect::<Vec<_>>(),
        [
            "2020-01-01 00:00:00",
            "2020-01-01 06:30:00",
            "2020-02-01 00:00:00"
        ]
    );
    assert_eq!(t.len(), 3);
    // Numbers keep their text where it is not how the key prints ("1959.0", " 3").
    let f = csv(
        "time,a\n1959.0,1\n1960,2\n1960.5,3\n 1961 ,4\n",
        FillPolicy::Error,
    )
    .unwrap();
    let t = f.time.as_ref().unwrap();
    assert_eq!(
        t.labels().collect::<Vec<_>>(),
        ["1959.0", "1960", "1960.5", "1961"]
    );
    assert_eq!(t.keys(), &[1959.0, 1960.0, 1960.5, 1961.0]);
    // Any labels given explicitly come back as given, also after dropping rows.
    for labels in [
        vec!["2001-01-01", "2001-01-02", "2001-01-03"],
        vec!["a", "bb", ""],
        vec!["1", "2.50", "3"],
    ] {
        let t = TimeIndex::new("when", &labels, vec![1.0, 2.0, 3.0]).unwrap();
        let back: Vec<String> = t.labels().collect();
        assert_eq!(back, labels);
    }
    let e = TimeIndex::new("when", ["a"], vec![1.0, 2.0]).unwrap_err();
    assert!(e.to_string().contains("1 labels for 2 keys"), "{e}");
    // Dropping rows keeps each remaining row's label (text and printed).
    let f = csv(
        "time,a\n1959.0,1\n1960,\n1960.5,3\n1961.25,4\n",
        FillPolicy::Drop,
    )
    .unwrap();
    assert_eq!(
        f.time.as_ref().unwrap().labels().collect::<Vec<_>>(),
        ["1959.0", "1960.5", "1961.25"]
    );
    assert_eq!(f.column(0), vec![1.0, 3.0, 4.0]);
    let f = csv(
        "date,a\n2020-01-01,1\n2020-01-02,\n2020-01-03,3\n",
        FillPolicy::Drop,
    )
    .unwrap();
    assert_eq!(f.date_range(), ("2020-01-01".into(), "2020-01-03".into()));
    // Sub-second time stamps keep the label they always had.
    let f = csv(
        "date,a\n2020-01-01T00:00:00.5,1\n2020-01-01T00:00:01,2\n",
        FillPolicy::Error,
    )
    .unwrap();
    assert_eq!(f.label(0), "2020-01-01 00:00:00");
    assert_eq!(f.label(1), "2020-01-01 00:00:01");
}

fn table(n: usize) -> Frame {
    let cols = ["a", "b", "c"];
    let values: Vec<Vec<f64>> = (0..3)
        .map(|c| {
            (0..n)
                .map(|r| ((r * (c + 3)) % 17) as f64 * 0.37 + c as f64)
                .collect()
        })
        .collect();
    let time = TimeIndex::new(
        "t",
        (0..n).map(|r| r.to_string()),
        (0..n).map(|r| r as f64).collect(),
    )
    .unwrap();
    Frame::from_columns("mem", cols.map(String::from).to_vec(), values, Some(time)).unwrap()
}

#[test]
fn prepare_owned_equals_prepare_and_keeps_the_labels() {
    for kind in [ScalerKind::MinMax, ScalerKind::Standard, ScalerKind::Robust] {
        // Features reordered and one column left out: the in-place selection must match.
        let spec = WindowSpec::new(4, 2, vec!["c".into(), "a".into()], vec!["a".into()]).unwrap();
        let split = SplitConfig::default();
        let frame = table(120);
        let copied = prepare(&frame, &spec, &split, kind).unwrap();
        let mut owned_frame = frame.clone();
        let owned = prepare_owned(&mut owned_frame, &spec, &split, kind).unwrap();
        assert_eq!(copied.scaled, owned.scaled);
        assert_eq!(copied.scaler, owned.scaler);
        assert_eq!(copied.train.all_x(), owned.train.all_x());
        assert_eq!(copied.test.all_y(), owned.test.all_y());
        assert_eq!(copied.bounds, owned.bounds);
        // The frame keeps what labels and summaries need, and no values.
        assert!(!owned_frame.has_values());
        assert_eq!(owned_frame.n_rows(), 120);
        assert_eq!(owned_frame.label(119), "119");
        assert_eq!(owned_frame.columns, frame.columns);
        // A second preparation is an error, not a panic.
        let e = prepare(&owned_frame, &spec, &split, kind).unwrap_err();
        assert!(e.to_string().contains("handed over"), "{e}");
    }
    // On error the frame keeps its values.
    let mut frame = table(10);
    let spec = WindowSpec::new(8, 1, vec!["a".into()], vec!["a".into()]).unwrap();
    assert!(
        prepare_owned(
            &mut frame,
            &spec,
            &SplitConfig::default(),
            ScalerKind::MinMax
        )
        .is_err()
    );
    assert!(frame.has_values());
}
