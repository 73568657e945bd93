//! The study API: seeded repeatability, bounds and steps, failures that do not stop the study,
//! bad definitions, parallel trials, budgets and pruning.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ts_tune::{
    Choice, Direction, Distribution, InMemoryStorage, MedianPruner, NopPruner, OptimizeOptions,
    RandomSampler, Sampler, Study, TpeSampler, Trial, TrialError, TrialState, TuneError,
};

fn study_with(sampler: Arc<dyn Sampler>) -> Study {
    Study::load_or_create(
        "t",
        Direction::Minimize,
        Arc::new(InMemoryStorage::new()),
        sampler,
        Arc::new(NopPruner),
    )
    .unwrap()
}

fn mixed(t: &mut Trial) -> Result<f64, TrialError> {
    let a = t.float("a", -2.0, 3.0, false)?;
    let lr = t.float("lr", 1e-5, 1e-1, true)?;
    let q = t.float_step("q", 0.1, 0.5, 0.1)?;
    let n = t.int("n", 2, 14, 3, false)?;
    let u = t.int("u", 1, 100, 1, true)?;
    let c = t.categorical("c", &["x".into(), "y".into(), "z".into()])?;
    Ok((a - 1.0).powi(2)
        + (lr.log10() + 3.0).powi(2)
        + q
        + (n as f64 - 8.0).abs()
        + (u as f64).ln()
        + if c == Choice::from("y") { 0.0 } else { 1.0 })
}

fn run(sampler: Arc<dyn Sampler>, n: usize) -> Vec<ts_tune::FrozenTrial> {
    let s = study_with(sampler);
    s.optimize(
        mixed,
        &OptimizeOptions {
            n_trials: Some(n),
            ..Default::default()
        },
        &|_| {},
    )
    .unwrap();
    s.trials().unwrap()
}

#[test]
fn seeded_studies_repeat_and_other_seeds_differ() {
    for multivariate in [true, false] {
        let mk = |seed| Arc::new(TpeSampler::new(Some(seed)).with_multivariate(multivariate));
        let a = run(mk(5), 25);
        let b = run(mk(5), 25);
        let c = run(mk(6), 25);
        let params =
            |v: &[ts_tune::FrozenTrial]| v.iter().map(|t| t.params.clone()).collect::<Vec<_>>();
        assert_eq!(params(&a), params(&b));
        assert_ne!(params(&a), params(&c));
    }
    let r1 = run(Arc::new(RandomSampler::new(Some(1))), 5);
    let r2 = run(Arc::new(RandomSampler::new(Some(1))), 5);
    assert_eq!(
        r1.iter().map(|t| &t.params).collect::<Vec<_>>(),
        r2.iter().map(|t| &t.params).collect::<Vec<_>>()
    );
}

#[test]
fn proposals_stay_inside_bounds_and_steps() {
    for sampler in [
        Arc::new(TpeSampler::new(Some(2))) as Arc<dyn Sampler>,
        Arc::new(TpeSampler::new(Some(2)).with_multivariate(false)),
        Arc::new(RandomSampler::new(Some(2))),
    ] {
        let trials = run(sampler, 40);
        for t in &trials {
            assert_eq!(t.state, TrialState::Complete);
            for (k, v) in &t.params {
                assert!(
                    t.distributions[k].contains(*v),
                    "{k} = {v} outside {}",
                    t.distributions[k]
                );
            }
        }
    }
}

#[test]
fn tpe_honours_log_scale() {
    // With the optimum at 1e-4 on a log range, TPE's later proposals concentrate there in log
    // space (a linear-scale sampler would almost never go below 1e-3).
    let s = study_with(Arc::new(TpeSampler::new(Some(4))));
    s.optimize(
        |t| {
            let lr = t.float("lr", 1e-6, 1.0, true)?;
            Ok((lr.log10() + 4.0).powi(2))
        },
        &OptimizeOptions {
            n_trials: Some(40),
            ..Default::default()
        },
        &|_| {},
    )
    .unwrap();
    let late: Vec<f64> = s.trials().unwrap()[20..]
        .iter()
        .map(|t| t.params["lr"])
        .collect();
    let near = late.iter().filter(|v| (1e-5..1e-3).contains(*v)).count();
    assert!(near >= 12, "{late:?}");
}

#[test]
fn failures_are_recorded_and_the_study_goes_on() {
    let s = study_with(Arc::new(RandomSampler::new(Some(0))));
    s.optimize(
        |t| {
            let x = t.float("x", 0.0, 1.0, false)?;
            match t.number() {
                1 => panic!("boom"),
                2 => Ok(f64::NAN),
                3 => Err(TrialError::Failed("no luck".into())),
                _ => Ok(x),
            }
        },
        &OptimizeOptions {
            n_trials: Some(6),
            ..Default::default()
        },
        &|_| {},
    )
    .unwrap();
    let trials = s.trials().unwrap();
    assert_eq!(trials.len(), 6);
    let reason = |i: usize| {
        trials[i].system_attrs["fail_reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(trials[1].state, TrialState::Fail);
    assert!(reason(1).contains("panicked: boom"));
    assert_eq!(trials[2].state, TrialState::Fail);
    assert!(reason(2).contains("NaN"));
    assert!(reason(3).contains("no luck"));
    assert_eq!(
        trials
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .count(),
        3
    );
}

#[test]
fn bad_definitions_fail_the_trial_with_a_clear_reason() {
    let s = study_with(Arc::new(RandomSampler::new(Some(0))));
    let mut t = s.ask().unwrap();
    let e = t.float("x", 2.0, 1.0, false).unwrap_err().to_string();
    assert!(e.contains("\"x\"") && e.contains("empty range"), "{e}");
    let e = t.float("y", 0.0, 1.0, true).unwrap_err().to_string();
    assert!(e.contains("low > 0"), "{e}");
    let e = t.categorical("c", &[]).unwrap_err().to_string();
    assert!(e.contains("empty"), "{e}");
    let v = t.float("z", 0.0, 1.0, false).unwrap();
    assert_eq!(t.float("z", 0.0, 1.0, false).unwrap(), v);
    match t.int("z", 0, 1, 1, false) {
        Err(TuneError::IncompatibleDistribution { name, .. }) => assert_eq!(name, "z"),
        other => panic!("{other:?}"),
    }
    s.tell(t, Ok(v)).unwrap();
    // Across trials a parameter may not change kind.
    let mut t2 = s.ask().unwrap();
    assert!(matches!(
        t2.suggest("z", Distribution::categorical(["a"])),
        Err(TuneError::IncompatibleDistribution { .. })
    ));
}

#[test]
fn parallel_trials_all_finish_with_unique_numbers() {
    let s = study_with(Arc::new(TpeSampler::new(Some(9))));
    let summary = s
        .optimize(
            mixed,
            &OptimizeOptions {
                n_trials: Some(30),
                n_jobs: 4,
                ..Default::default()
            },
            &|_| {},
        )
        .unwrap();
    assert_eq!(summary.finished, 30);
    let trials = s.trials().unwrap();
    assert_eq!(trials.len(), 30);
    assert!(trials.iter().all(|t| t.state == TrialState::Complete));
}

#[test]
fn timeout_and_stop_flag_end_the_study_keeping_finished_trials() {
    let s = study_with(Arc::new(RandomSampler::new(Some(0))));
    let summary = s
        .optimize(
            |t| {
                std::thread::sleep(Duration::from_millis(20));
                t.float("x", 0.0, 1.0, false).map_err(Into::into)
            },
            &OptimizeOptions {
                timeout: Some(Duration::from_millis(150)),
                ..Default::default()
            },
            &|_| {},
        )
        .unwrap();
    assert!(summary.timed_out);
    assert!(
        summary.finished >= 2 && summary.finished < 20,
        "{summary:?}"
    );

    let stop = Arc::new(AtomicBool::new(false));
    let s = study_with(Arc::new(RandomSampler::new(Some(0))));
    let flag = stop.clone();
    let summary = s
        .optimize(
            |t| {
                if t.number() == 3 {
                    flag.store(true, Ordering::SeqCst);
                }
                t.float("x", 0.0, 1.0, false).map_err(Into::into)
            },
            &OptimizeOptions {
                n_trials: Some(100),
                stop: Some(stop.clone()),
                ..Default::default()
            },
            &|_| {},
        )
        .unwrap();
    assert!(summary.stopped);
    assert_eq!(summary.finished, 4);
    assert_eq!(s.trials().unwrap().len(), 4);
}

#[test]
fn the_median_pruner_stops_a_trial_worse_than_the_median() {
    let s = Study::load_or_create(
        "p",
        Direction::Minimize,
        Arc::new(InMemoryStorage::new()),
        Arc::new(RandomSampler::new(Some(0))),
        Arc::new(MedianPruner {
            n_startup_trials: 3,
            ..Default::default()
        }),
    )
    .unwrap();
    s.optimize(
        |t| {
            t.float("x", 0.0, 1.0, false)?;
            // Trials 0-2 are good; trial 3 is worse at every step.
            let base = if t.number() < 3 { 1.0 } else { 10.0 };
            for step in 0..5 {
                t.report(step, base - 0.1 * step as f64)?;
                if t.should_prune()? {
                    return Err(TrialError::Pruned);
                }
            }
            Ok(base)
        },
        &OptimizeOptions {
            n_trials: Some(4),
            ..Default::default()
        },
        &|_| {},
    )
    .unwrap();
    let t = &s.trials().unwrap()[3];
    assert_eq!(t.state, TrialState::Pruned);
    assert_eq!(t.intermediate.len(), 1, "pruned at the first step");
    assert_eq!(t.value, Some(10.0));
}

/// A space whose distribution of a parameter differs from the one earlier trials recorded is
/// refused before any trial runs (each would fail otherwise); a wider int range is compatible.
#[test]
fn a_changed_space_is_refused_up_front() {
    let s = study_with(Arc::new(RandomSampler::new(Some(1))));
    s.optimize(
        mixed,
        &OptimizeOptions {
            n_trials: Some(2),
            ..Default::default()
        },
        &|_| {},
    )
    .unwrap();
    let mut space = std::collections::BTreeMap::new();
    space.insert(
        "n".to_string(),
        Distribution::Int {
            low: 1,
            high: 40,
            step: 1,
            log: false,
        },
    );
    s.check_space(&space).unwrap();
    space.insert(
        "n".to_string(),
        Distribution::Categorical {
            choices: vec![Choice::from("32"), Choice::from("64")],
        },
    );
    let e = s.check_space(&space).unwrap_err();
    assert!(
        matches!(e, TuneError::IncompatibleDistribution { .. }),
        "{e}"
    );
    assert!(
        e.to_string().contains("\"n\"") && e.to_string().contains("--study-name"),
        "{e}"
    );
}

/// A study binds one objective: a description that differs is refused, and a field it gained
/// after the study began (such as the data's hash) is not compared with a study that lacks it.
#[test]
fn the_objective_is_bound_and_new_fields_are_not_compared() {
    let s = study_with(Arc::new(RandomSampler::new(Some(1))));
    s.bind_objective("obj", serde_json::json!({"rows": 10}))
        .unwrap();
    s.bind_objective("obj", serde_json::json!({"rows": 10, "values": "ab"}))
        .unwrap();
    let e = s
        .bind_objective("obj", serde_json::json!({"rows": 11, "values": "ab"}))
        .unwrap_err();
    assert!(e.to_string().contains("another objective"), "{e}");
    let t = study_with(Arc::new(RandomSampler::new(Some(1))));
    t.bind_objective("obj", serde_json::json!({"rows": 10, "values": "ab"}))
        .unwrap();
    let e = t
        .bind_objective("obj", serde_json::json!({"rows": 10, "values": "cd"}))
        .unwrap_err();
    assert!(e.to_string().contains("another objective"), "{e}");
    // A field the new description lacks is a difference.
    assert!(
        t.bind_objective("obj", serde_json::json!({"rows": 10}))
            .is_err()
    );
}
