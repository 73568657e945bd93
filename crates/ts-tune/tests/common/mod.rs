//! Helpers shared by the storage tests.

use std::sync::Arc;

use ts_tune::{Direction, NopPruner, Storage, Study, TpeSampler};

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
