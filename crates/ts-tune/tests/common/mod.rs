//! Helpers shared by the storage tests.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use ts_tune::{Direction, NopPruner, Storage, Study, TpeSampler, Trial, TrialState};

/// A study on `storage` with a seeded TPE sampler and no pruner (created, or loaded when it
/// exists).
pub fn study_on(storage: Arc<dyn Storage>, name: &str, direction: Direction, seed: u64) -> Study {
    Study::load_or_create(
        name,
        direction,
        storage,
        Arc::new(TpeSampler::new(Some(seed))),
        Arc::new(NopPruner),
    )
    .unwrap()
}

/// The first half of the stale-trial scenario, the same on every storage: trial 0 (float `x`,
/// user attribute `u` = 1) sends one heartbeat and falls silent, trial 1 never sends one; after
/// 0.3 s neither is stale under a 60 s grace period. Returns trial 1.
pub fn dead_and_silent(study: &Study, s: &dyn Storage) -> Trial {
    let mut dead = study.ask().unwrap();
    dead.float("x", -5.0, 5.0, false).unwrap();
    dead.set_user_attr("u", json!(1)).unwrap();
    s.record_heartbeat(dead.trial_id()).unwrap();
    // A trial that never sent a heartbeat is never stale (as in Optuna).
    let silent = study.ask().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        study
            .fail_stale_trials(Duration::from_secs(60), Some(1))
            .unwrap()
            .is_empty()
    );
    silent
}

/// The second half of the stale-trial scenario, the same on every storage: trial 0 (float `x`,
/// user attribute `u` = 1) was failed as stale with one retry allowed, trial 1 (`silent`) never
/// sent a heartbeat. Checks the queued copy (parameters, attributes, `failed_trial`,
/// `retry_history`), runs it, lets it die too, and checks that it is not queued a third time.
pub fn check_retried_once(study: &Study, s: &dyn Storage, silent: &Trial) {
    let trials = study.trials().unwrap();
    assert_eq!(trials[0].state, TrialState::Fail);
    assert_eq!(trials[1].state, TrialState::Running);
    assert_eq!(trials[1].trial_id, silent.trial_id());
    let retry = &trials[2];
    assert_eq!(retry.state, TrialState::Waiting);
    assert_eq!(retry.params, trials[0].params);
    assert_eq!(retry.user_attrs["u"], json!(1));
    assert_eq!(retry.system_attrs["failed_trial"], json!(0));
    assert_eq!(retry.system_attrs["retry_history"], json!([0]));
    // The next ask takes the queued copy with its parameter; when it dies too, the history
    // forbids a third attempt with --retry-failed 1.
    let mut again = study.ask().unwrap();
    assert_eq!(again.number(), 2);
    let x0 = trials[0].params["x"];
    assert_eq!(again.float("x", -5.0, 5.0, false).unwrap(), x0);
    s.record_heartbeat(again.trial_id()).unwrap();
    std::thread::sleep(Duration::from_millis(250));
    let failed = study
        .fail_stale_trials(Duration::from_millis(100), Some(1))
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].number, 2);
    let trials = study.trials().unwrap();
    assert_eq!(trials.len(), 3, "retried once already: not queued again");
    assert_eq!(trials[2].state, TrialState::Fail);
    assert!(
        again.report(0, 1.0).is_err(),
        "a failed trial cannot be updated"
    );
}
