//! Rendering a figure twice (300 dpi PNG and SVG) and writing the files atomically.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::VizError;
use crate::font;
use crate::theme::Theme;

/// Width of the PNG in pixels: a 10 inch wide figure at 300 dpi.
pub const PNG_WIDTH: u32 = 3000;
/// Height of the PNG in pixels: a 6 inch high figure at 300 dpi.
pub const PNG_HEIGHT: u32 = 1800;
/// Resolution written into the PNG `pHYs` chunk: 300 dpi = 11811 pixels per metre.
pub const PNG_PIXELS_PER_METRE: u32 = 11811;
/// Width of the SVG in user units (pixels).
pub const SVG_WIDTH: u32 = 1000;
/// Height of the SVG in user units (pixels).
pub const SVG_HEIGHT: u32 = 600;

/// Paths of the files written for one chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The 3000×1800 px, 300 dpi PNG (`<out_dir>/<stem>.png`).
    pub png: PathBuf,
    /// The 1000×600 SVG (`<out_dir>/<stem>.svg`).
    pub svg: PathBuf,
}

/// A chart that can be drawn on any plotters backend.
///
/// Sizes are given for a 1000 px wide canvas and multiplied by the theme's
/// scale, so the PNG and the SVG look the same.
pub(crate) trait Figure {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        theme: &Theme,
    ) -> Result<(), String>;
}

/// Turns any displayable plotters error into a message.
pub(crate) fn de<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Draws `figure` into `<out_dir>/<stem>.png` and `<out_dir>/<stem>.svg`.
pub(crate) fn render<F: Figure>(
    figure: &F,
    out_dir: &Path,
    stem: &str,
) -> Result<Written, VizError> {
    check_stem(stem)?;
    fs::create_dir_all(out_dir).map_err(|source| VizError::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let png = out_dir.join(format!("{stem}.png"));
    let svg = out_dir.join(format!("{stem}.svg"));
    font::ensure_registered().map_err(|message| VizError::Draw {
        path: png.clone(),
        message,
    })?;

    let pixels = draw_png(figure).map_err(|message| VizError::Draw {
        path: png.clone(),
        message,
    })?;
    write_atomically(&png, |w| encode_png(w, &pixels, &png))?;

    let text = draw_svg(figure).map_err(|message| VizError::Draw {
        path: svg.clone(),
        message,
    })?;
    write_atomically(&svg, |w| {
        w.write_all(text.as_bytes()).map_err(|source| VizError::Io {
            path: svg.clone(),
            source,
        })
    })?;
    Ok(Written { png, svg })
}

fn check_stem(stem: &str) -> Result<(), VizError> {
    if stem.is_empty()
        || stem == "."
        || stem == ".."
        || stem.contains(['/', '\\'])
        || stem.contains('\0')
    {
        return Err(VizError::InvalidInput(format!(
            "file stem {stem:?} must be a non-empty file name without path separators"
        )));
    }
    Ok(())
}

/// Runs a drawing closure, turning a plotters panic into an error message so a
/// chart can never bring down a training run.
fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(panic) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(format!(
                "plotters panicked while drawing the {what}: {detail}"
            ))
        }
    }
}

fn draw_png<F: Figure>(figure: &F) -> Result<Vec<u8>, String> {
    let mut pixels = vec![255u8; PNG_WIDTH as usize * PNG_HEIGHT as usize * 3];
    guarded("PNG", || {
        let root =
            BitMapBackend::with_buffer(&mut pixels, (PNG_WIDTH, PNG_HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(de)?;
        figure.draw(&root, &Theme::raster(PNG_WIDTH))?;
        root.present().map_err(de)
    })?;
    Ok(pixels)
}

fn draw_svg<F: Figure>(figure: &F) -> Result<String, String> {
    let mut text = String::new();
    guarded("SVG", || {
        let root = SVGBackend::with_string(&mut text, (SVG_WIDTH, SVG_HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(de)?;
        figure.draw(&root, &Theme::vector())?;
        root.present().map_err(de)
    })?;
    Ok(text)
}

fn encode_png(w: &mut BufWriter<File>, pixels: &[u8], path: &Path) -> Result<(), VizError> {
    let err = |e: png::EncodingError| VizError::Png {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut encoder = png::Encoder::new(w, PNG_WIDTH, PNG_HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_pixel_dims(Some(png::PixelDimensions {
        xppu: PNG_PIXELS_PER_METRE,
        yppu: PNG_PIXELS_PER_METRE,
        unit: png::Unit::Meter,
    }));
    let mut writer = encoder.write_header().map_err(err)?;
    writer.write_image_data(pixels).map_err(err)?;
    writer.finish().map_err(err)
}

/// Refuses to replace an existing `path` that is not a regular file (a symbolic link, FIFO,
/// device, socket or folder): charts are written only into regular files.
fn refuse_special_file(path: &Path) -> Result<(), VizError> {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return Ok(());
    };
    let ft = meta.file_type();
    if ft.is_file() {
        return Ok(());
    }
    let kind = if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_dir() {
        "a folder"
    } else {
        "a FIFO, device or socket"
    };
    Err(VizError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(format!(
            "the path exists and is {kind}, not a regular file; charts are written only into regular files"
        )),
    })
}

/// Writes `<path>.tmp` with `fill`, then renames it over `path`; the temporary
/// file is removed again if anything fails.
fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> Result<(), VizError>,
) -> Result<(), VizError> {
    refuse_special_file(path)?;
    let mut tmp_name = path.as_os_str().to_os_string();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    // A leftover temporary (or a link planted in its place) is removed, not followed: the
    // temporary is created new.
    if fs::symlink_metadata(&tmp).is_ok() {
        let _ = fs::remove_file(&tmp);
    }
    let result = (|| {
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|source| VizError::Io {
                path: tmp.clone(),
                source,
            })?;
        let mut w = BufWriter::new(file);
        fill(&mut w)?;
        let file = w.into_inner().map_err(|e| VizError::Io {
            path: tmp.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(|source| VizError::Io {
            path: tmp.clone(),
            source,
        })?;
        drop(file);
        fs::rename(&tmp, path).map_err(|source| VizError::Io {
            path: path.to_path_buf(),
            source,
        })
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_with_separators_are_rejected() {
        for bad in ["", ".", "..", "a/b", "a\\b"] {
            assert!(
                matches!(check_stem(bad), Err(VizError::InvalidInput(_))),
                "{bad:?}"
            );
        }
        assert!(check_stem("history-epoch_3.final").is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn special_files_are_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.txt");
        fs::write(&target, "keep").unwrap();
        let link = dir.path().join("x.png");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let ok = |w: &mut BufWriter<File>| {
            w.write_all(b"chart").map_err(|source| VizError::Io {
                path: PathBuf::new(),
                source,
            })
        };
        let e = write_atomically(&link, ok).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&target).unwrap(), "keep");
        let sub = dir.path().join("d.svg");
        fs::create_dir(&sub).unwrap();
        assert!(
            write_atomically(&sub, ok)
                .unwrap_err()
                .to_string()
                .contains("folder")
        );
        // A link planted at the temporary's name is removed, not written through.
        let plain = dir.path().join("p.png");
        std::os::unix::fs::symlink(&target, dir.path().join("p.png.tmp")).unwrap();
        write_atomically(&plain, ok).unwrap();
        assert_eq!(fs::read_to_string(&plain).unwrap(), "chart");
        assert_eq!(fs::read_to_string(&target).unwrap(), "keep");
    }

    #[test]
    fn failed_write_removes_the_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.png");
        let result = write_atomically(&path, |_| Err(VizError::InvalidInput("boom".into())));
        assert!(result.is_err());
        assert!(!dir.path().join("x.png.tmp").exists());
        assert!(!path.exists());
    }
}
