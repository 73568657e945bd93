//! Colours, fonts and sizes shared by every chart.
//!
//! All sizes are written for a 1000 px wide canvas (the SVG) and multiplied by
//! [`Theme::scale`] (3.0 for the 3000 px PNG), so both files look alike.

use plotters::chart::{MeshStyle, SeriesLabelPosition};
use plotters::coord::{CoordTranslate, Shift};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::font::FAMILY;
use crate::output::de;

/// Near-black used for text.
pub(crate) const TEXT: RGBColor = RGBColor(33, 33, 33);
/// Axis lines.
pub(crate) const AXIS: RGBColor = RGBColor(90, 90, 90);
/// Light grey grid lines.
pub(crate) const GRID: RGBColor = RGBColor(225, 225, 225);
/// A pixel position, as plotters backends use it.
type BackendCoord = (i32, i32);

/// Legend box border.
pub(crate) const LEGEND_BORDER: RGBColor = RGBColor(190, 190, 190);
/// Actual values / training loss (blue).
pub(crate) const BLUE: RGBColor = RGBColor(31, 119, 180);
/// Predicted values / validation loss (orange).
pub(crate) const ORANGE: RGBColor = RGBColor(255, 127, 14);
/// Best-epoch marker (green).
pub(crate) const GREEN: RGBColor = RGBColor(44, 160, 44);
/// Residuals (red).
pub(crate) const RED: RGBColor = RGBColor(214, 39, 40);
/// Histogram bars (purple).
pub(crate) const PURPLE: RGBColor = RGBColor(148, 103, 189);
/// Naive baseline and reference lines (grey).
pub(crate) const GREY: RGBColor = RGBColor(127, 127, 127);

/// Scale-aware sizes and styles.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Theme {
    /// Device pixels per logical (1000 px canvas) pixel.
    pub scale: f64,
    /// Extra factor for text (and the label areas around it); below 1 for small panels.
    pub text: f64,
    /// Whether text is rasterised by plotters' `ab_glyph` path (the PNG),
    /// which centres text about a quarter em too high; tick labels are
    /// nudged down to sit on their grid lines. SVG text is placed by the viewer.
    pub raster: bool,
}

impl Theme {
    /// Theme for the SVG (scale 1, text placed by the viewer).
    pub(crate) fn vector() -> Self {
        Self {
            scale: 1.0,
            text: 1.0,
            raster: false,
        }
    }

    /// Theme for a bitmap `width` px wide (scale `width / 1000`).
    pub(crate) fn raster(width: u32) -> Self {
        Self {
            scale: f64::from(width) / 1000.0,
            text: 1.0,
            raster: true,
        }
    }

    /// The same theme with text shrunk by `factor` (for grids of small panels).
    pub(crate) fn compact(self, factor: f64) -> Self {
        Self {
            text: self.text * factor,
            ..self
        }
    }

    /// A logical length that scales with the text size, in device pixels.
    pub(crate) fn text_px(&self, logical: f64) -> i32 {
        self.px(logical * self.text)
    }

    /// A logical length in device pixels.
    pub(crate) fn px(&self, logical: f64) -> i32 {
        (logical * self.scale).round() as i32
    }

    /// A logical length in device pixels, at least 1.
    pub(crate) fn upx(&self, logical: f64) -> u32 {
        self.px(logical).max(1) as u32
    }

    /// Text of the given logical size in the default text colour.
    pub(crate) fn font(&self, logical_size: f64) -> TextStyle<'static> {
        (FAMILY, logical_size * self.text * self.scale)
            .into_font()
            .color(&TEXT)
    }

    /// A stroked (unfilled) style with a logical line width.
    pub(crate) fn line<C: Color>(&self, color: &C, width: f64) -> ShapeStyle {
        ShapeStyle {
            color: color.to_rgba(),
            filled: false,
            stroke_width: self.upx(width),
        }
    }

    /// Figure title size.
    pub(crate) const TITLE: f64 = 20.0;
    /// Panel caption size.
    pub(crate) const CAPTION: f64 = 14.0;
    /// Axis description ("Time", "Loss") size.
    pub(crate) const AXIS_DESC: f64 = 12.0;
    /// Tick label size.
    pub(crate) const TICK: f64 = 11.0;
    /// Legend text size.
    pub(crate) const LEGEND: f64 = 11.0;

    /// Draws the figure title (if any) and returns the area below it, with an
    /// outer margin applied.
    pub(crate) fn titled<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        title: &str,
    ) -> Result<DrawingArea<DB, Shift>, String> {
        let area = root.margin(self.px(8.0), self.px(6.0), self.px(6.0), self.px(14.0));
        if title.trim().is_empty() {
            return Ok(area);
        }
        area.titled(title.trim(), self.font(Self::TITLE))
            .map_err(de)
    }

    /// Applies the common grid, axis and text styles to a mesh.
    pub(crate) fn style_mesh<X: Ranged, Y: Ranged, DB: DrawingBackend>(
        &self,
        mesh: &mut MeshStyle<'_, '_, X, Y, DB>,
    ) {
        mesh.bold_line_style(self.line(&GRID, 1.0))
            .light_line_style(TRANSPARENT)
            .axis_style(self.line(&AXIS, 1.0))
            .label_style(self.font(Self::TICK))
            .axis_desc_style(self.font(Self::AXIS_DESC))
            .set_all_tick_mark_size(self.px(4.0));
        if self.raster {
            mesh.y_label_offset((0.25 * Self::TICK * self.text * self.scale).round() as i32);
        }
    }

    /// Draws the legend of the labelled series of `cc` at `position`, on a
    /// translucent white box with a light border.
    pub(crate) fn series_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
        &self,
        cc: &mut ChartContext<'a, DB, CT>,
        position: SeriesLabelPosition,
    ) -> Result<(), String> {
        cc.configure_series_labels()
            .position(position)
            .margin(self.px(7.0))
            .legend_area_size(self.px(30.0))
            .label_font(self.font(Self::LEGEND))
            .background_style(WHITE.mix(0.9))
            .border_style(self.line(&LEGEND_BORDER, 1.0))
            .draw()
            .map_err(de)
    }

    /// Dash length and gap of dashed lines, in device pixels.
    pub(crate) fn dash(&self) -> (u32, u32) {
        (self.upx(6.0), self.upx(4.0))
    }

    /// A dashed line through `points` with this theme's dash length and gap.
    pub(crate) fn dashed<P>(
        &self,
        points: P,
        style: ShapeStyle,
    ) -> DashedLineSeries<P::IntoIter, u32>
    where
        P: IntoIterator,
        P::IntoIter: Clone,
    {
        let (dash, gap) = self.dash();
        DashedLineSeries::new(points, dash, gap, style)
    }

    /// Vertical correction for legend samples so they line up with the
    /// rasterised legend text (see [`Theme::raster`]).
    fn legend_dy(&self) -> i32 {
        if self.raster {
            -(0.18 * Self::LEGEND * self.text * self.scale).round() as i32
        } else {
            0
        }
    }

    /// Legend sample: a short solid line.
    pub(crate) fn legend_line(
        &self,
        style: ShapeStyle,
    ) -> impl Fn(BackendCoord) -> PathElement<BackendCoord> + use<> {
        let (w, dy) = (self.px(22.0), self.legend_dy());
        move |(x, y)| PathElement::new(vec![(x, y + dy), (x + w, y + dy)], style)
    }

    /// Legend sample: a short dashed line.
    pub(crate) fn legend_dashed(
        &self,
        style: ShapeStyle,
    ) -> impl Fn(BackendCoord) -> DashedPathElement<std::vec::IntoIter<BackendCoord>, u32> + use<>
    {
        let (w, dy) = (self.px(22.0), self.legend_dy());
        let (dash, gap) = self.dash();
        move |(x, y)| DashedPathElement::new(vec![(x, y + dy), (x + w, y + dy)], dash, gap, style)
    }

    /// Legend sample: a filled dot.
    pub(crate) fn legend_dot(
        &self,
        color: RGBColor,
    ) -> impl Fn(BackendCoord) -> Circle<BackendCoord, u32> + use<> {
        let (half, dy, r) = (self.px(11.0), self.legend_dy(), self.upx(3.0));
        move |(x, y)| Circle::new((x + half, y + dy), r, color.filled())
    }

    /// Draws a horizontal legend centred in `area`: one line sample and label per entry.
    pub(crate) fn legend_strip<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        entries: &[LegendEntry],
    ) -> Result<(), String> {
        let font = self.font(Self::LEGEND);
        let sample = self.px(26.0);
        let gap = self.px(6.0);
        let spacing = self.px(22.0);
        let mut widths = Vec::with_capacity(entries.len());
        for e in entries {
            let (w, _) = area.estimate_text_size(&e.label, &font).map_err(de)?;
            widths.push(w as i32);
        }
        let total: i32 = widths.iter().map(|w| sample + gap + w).sum::<i32>()
            + spacing * (entries.len() as i32 - 1).max(0);
        let (aw, ah) = area.dim_in_pixel();
        let mut x = (aw as i32 - total) / 2;
        let y = ah as i32 / 2;
        let font = font.pos(Pos::new(HPos::Left, VPos::Center));
        for (e, w) in entries.iter().zip(widths) {
            let style = self.line(&e.color, e.width);
            if e.dashed {
                let dash = self.px(5.0);
                let mut x0 = x;
                while x0 < x + sample {
                    let x1 = (x0 + dash).min(x + sample);
                    area.draw(&PathElement::new(vec![(x0, y), (x1, y)], style))
                        .map_err(de)?;
                    x0 += dash * 2;
                }
            } else {
                area.draw(&PathElement::new(vec![(x, y), (x + sample, y)], style))
                    .map_err(de)?;
            }
            area.draw(&Text::new(
                e.label.clone(),
                (x + sample + gap, y),
                font.clone(),
            ))
            .map_err(de)?;
            x += sample + gap + w + spacing;
        }
        Ok(())
    }
}

/// One entry of a [`Theme::legend_strip`].
pub(crate) struct LegendEntry {
    pub label: String,
    pub color: RGBColor,
    pub width: f64,
    pub dashed: bool,
}
