//! Errors of the explanation layer.

/// What can go wrong explaining a model.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    /// A setting is out of range (zero steps, zero samples, negative noise, …).
    #[error("invalid {name} = {value}: {reason}")]
    InvalidSetting {
        /// The setting.
        name: String,
        /// Its value.
        value: String,
        /// Why it is wrong.
        reason: String,
    },
    /// Input windows do not have the shape the model expects.
    #[error(
        "{what} have shape [{n}, {steps}, {features}] but the model expects [*, {model_steps}, {model_features}]"
    )]
    ShapeMismatch {
        /// Which windows (explained windows, background, baseline).
        what: String,
        /// Number of windows.
        n: usize,
        /// Time steps per window.
        steps: usize,
        /// Features per time step.
        features: usize,
        /// Time steps the model expects.
        model_steps: usize,
        /// Features the model expects.
        model_features: usize,
    },
    /// A buffer's length does not match the shape it claims.
    #[error("{what}: {len} values do not fill [{n}, {steps}, {features}]")]
    BadLength {
        /// Which buffer.
        what: String,
        /// Its length.
        len: usize,
        /// Claimed windows.
        n: usize,
        /// Claimed steps.
        steps: usize,
        /// Claimed features.
        features: usize,
    },
    /// A set that must not be empty is empty (windows, background).
    #[error("{0} is empty")]
    Empty(String),
    /// A non-finite input value.
    #[error(
        "{what}: value {value} at window {window}, time step {step}, feature {feature} is not finite"
    )]
    NotFinite {
        /// Which windows.
        what: String,
        /// Window index.
        window: usize,
        /// Time step.
        step: usize,
        /// Feature index.
        feature: usize,
        /// The value.
        value: f32,
    },
    /// The model cannot support a method (attention weights of a plain LSTM).
    #[error("method {method} is not supported by this model: {reason}")]
    Unsupported {
        /// The method.
        method: String,
        /// Why.
        reason: String,
    },
    /// A model computation produced a non-finite number.
    #[error("{method}: the model produced a non-finite value ({detail})")]
    NonFinite {
        /// The method.
        method: String,
        /// Where.
        detail: String,
    },
    /// A least-squares system could not be solved.
    #[error("{method}: {reason}")]
    Singular {
        /// The method.
        method: String,
        /// What went wrong and what to change.
        reason: String,
    },
    /// A model call returned the wrong number of values.
    #[error("{method}: the model returned {got} values where {want} were expected")]
    BadOutput {
        /// The model call (forward, gradient, attention).
        method: String,
        /// Values returned.
        got: usize,
        /// Values expected (windows × outputs, × cells or × steps).
        want: usize,
    },
    /// The model failed to compute (for implementations of
    /// [`ExplainModel`](crate::ExplainModel) to report their own errors).
    #[error("the model failed: {0}")]
    ModelFailed(String),
    /// A report could not be written as JSON.
    #[error("writing JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Loading the model or data failed.
    #[cfg(feature = "lstm")]
    #[error(transparent)]
    Train(#[from] ts_train::TrainError),
    /// Loading a model failed.
    #[cfg(feature = "lstm")]
    #[error(transparent)]
    Model(#[from] ts_model::ModelError),
    /// Loading a data table failed.
    #[cfg(feature = "lstm")]
    #[error(transparent)]
    Data(#[from] ts_data::DataError),
}

/// Shorthand result type of this crate.
pub type Result<T> = std::result::Result<T, ExplainError>;

pub(crate) fn invalid(name: &str, value: impl ToString, reason: &str) -> ExplainError {
    ExplainError::InvalidSetting {
        name: name.into(),
        value: value.to_string(),
        reason: reason.into(),
    }
}
