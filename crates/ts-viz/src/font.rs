//! The embedded font, registered with plotters exactly once.

use std::sync::OnceLock;

use plotters::style::FontStyle;

/// DejaVu Sans, embedded so every machine renders the same glyphs
/// (see `assets/FONT_LICENSE.md`).
pub(crate) static DEJAVU_SANS: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Font family name every chart uses; it is what the SVG files ask for too.
pub(crate) const FAMILY: &str = "sans-serif";

static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();

/// Registers DejaVu Sans as plotters' `sans-serif` font (once per process).
///
/// Returns an error message if the embedded font could not be parsed, which
/// would be a build problem rather than a runtime one.
pub(crate) fn ensure_registered() -> Result<(), String> {
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS)
                .map_err(|_| "the embedded DejaVu Sans font could not be parsed".to_string())
        })
        .clone()
}
