//! PNG text drawn right: a drawing backend that draws its pixels on the
//! bitmap backend (plotters' rasterizer turns shapes into pixels) and its
//! text glyph by glyph, with the built-in font, at their side bearing. plotters' own ab_glyph text puts each glyph's
//! ink at the start of its advance, so a narrow glyph (`.`, `:`, `-`)
//! stands at the left of its cell with a gap after it.

use ab_glyph::{Font, FontRef, GlyphId, ScaleFont, point};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendTextStyle, DrawingBackend, DrawingErrorKind,
};

/// The built-in font (data/fonts/), for both layout and drawing.
pub const FONT: &[u8] = include_bytes!("../../data/fonts/DejaVuSansMono.ttf");

/// `inner` with its text drawn glyph by glyph.
pub struct Glyphs<B> {
    inner: B,
    font: FontRef<'static>,
}

impl<B> Glyphs<B> {
    pub fn new(inner: B) -> Glyphs<B> {
        Glyphs {
            inner,
            font: FontRef::try_from_slice(FONT)
                .expect("the built-in font is a valid TrueType file"),
        }
    }

    /// Calls `draw(x, y, coverage)` for each pixel of `text` at `size`
    /// pixels, from its own origin, the baseline placed as plotters
    /// places it (so the layout plotters computed still holds).
    fn rasterize(&self, text: &str, size: f32, mut draw: impl FnMut(i32, i32, f32)) {
        let font = self.font.as_scaled(size);
        let mut x = 0f32;
        let mut previous: Option<GlyphId> = None;
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(previous) = previous {
                x += font.kern(previous, id);
            }
            let glyph = id.with_scale_and_position(size, point(x, 0.0));
            if let Some(outline) = font.outline_glyph(glyph) {
                let bounds = outline.px_bounds();
                let (left, top) = (bounds.min.x as i32, (size / 2.0 + bounds.min.y) as i32);
                outline.draw(|gx, gy, coverage| draw(left + gx as i32, top + gy as i32, coverage));
            }
            x += font.h_advance(id);
            previous = Some(id);
        }
    }
}

impl<B: DrawingBackend> DrawingBackend for Glyphs<B> {
    type ErrorType = B::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.inner.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.inner.draw_pixel(point, color)
    }

    /// plotters' placement (anchor, layout box, transform), the glyphs
    /// from [`Glyphs::rasterize`].
    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let ((min_x, min_y), (max_x, max_y)) = style
            .layout_box(text)
            .map_err(|e| DrawingErrorKind::FontError(Box::new(e)))?;
        let (width, height) = (max_x - min_x, max_y - min_y);
        let dx = match style.anchor().h_pos {
            HPos::Left => 0,
            HPos::Right => -width,
            HPos::Center => -width / 2,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0,
            VPos::Center => -height / 2,
            VPos::Bottom => -height,
        };
        let transform = style.transform();
        let (w, h) = self.get_size();
        let mut pixels = Vec::new();
        self.rasterize(text, style.size() as f32, |x, y, coverage| {
            let (x, y) = transform.transform(x + dx - min_x, y + dy - min_y);
            let (x, y) = (pos.0 + x, pos.1 + y);
            if (0..w as i32).contains(&x) && (0..h as i32).contains(&y) {
                pixels.push(((x, y), coverage));
            }
        });
        for (point, coverage) in pixels {
            let alpha = color.alpha * f64::from(coverage);
            self.inner.draw_pixel(
                point,
                BackendColor {
                    alpha,
                    rgb: color.rgb,
                },
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The columns `text`'s ink covers at 20 pixels.
    fn inked_columns(text: &str) -> (i32, i32) {
        let mut columns = Vec::new();
        Glyphs::new(()).rasterize(text, 20.0, |x, _, coverage| {
            if coverage > 0.5 {
                columns.push(x);
            }
        });
        (
            *columns.iter().min().unwrap(),
            *columns.iter().max().unwrap(),
        )
    }

    #[test]
    fn a_narrow_glyph_stands_in_the_middle_of_its_cell() {
        // DejaVu Sans Mono advances 12 pixels at 20: `:` is inked near
        // the middle of its cell, not at its left edge.
        let (left, right) = inked_columns(":");
        assert!(left >= 3 && right <= 8, "{left}..{right}");
        // The second glyph a cell further (its ink may fall a pixel
        // earlier: the advance is not a whole number of pixels).
        let (left_two, right_two) = inked_columns("::");
        assert_eq!(left_two, left);
        assert!(
            (right + 11..=right + 12).contains(&right_two),
            "{right_two}"
        );
    }
}
