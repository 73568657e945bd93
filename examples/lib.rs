//! Shared helpers for the tsf examples.
