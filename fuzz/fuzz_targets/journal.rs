//! The Optuna-journal reader of ts-tune: any file content opens as a study log or is refused with
//! an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ts_tune::storage::JournalStorage;
use ts_tune::storage::Storage;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("study.log");
    std::fs::write(&path, data).expect("write");
    if let Ok(s) = JournalStorage::open(&path) {
        let _ = s.read(&mut |r| {
            for id in r.studies().keys() {
                let _ = r.study_trials(*id);
            }
            let _ = r.n_trials();
        });
    }
});
