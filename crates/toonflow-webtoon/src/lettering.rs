//! Lettering: Comic Neue Bold (SIL Open Font License, embedded in the binary, see
//! `assets/fonts`), words wrapped to a width and never dropped, lines centred.

use crate::canvas::Canvas;
use ab_glyph::{Font, FontRef, PxScale, ScaleFont};

static COMIC_NEUE_BOLD: &[u8] = include_bytes!("../../../assets/fonts/ComicNeue-Bold.otf");

/// Lines of text wrapped and measured at one size.
#[derive(Clone, Debug, PartialEq)]
pub struct TextBlock {
    /// The lines, words separated by single spaces.
    pub lines: Vec<String>,
    /// Font size in pixels.
    pub size: f32,
    /// Widest line's width.
    pub width: f32,
    /// Height of all lines.
    pub height: f32,
}

impl TextBlock {
    /// The text it holds, lines joined by spaces (what was wrapped, word for word).
    pub fn text(&self) -> String {
        self.lines.join(" ")
    }
}

/// The lettering font.
pub struct Lettering {
    font: FontRef<'static>,
}

impl Default for Lettering {
    fn default() -> Self {
        Self::new()
    }
}

impl Lettering {
    /// The embedded comic font.
    pub fn new() -> Self {
        Self { font: FontRef::try_from_slice(COMIC_NEUE_BOLD).expect("the embedded font parses") }
    }

    fn line_height(&self, size: f32) -> f32 {
        let f = self.font.as_scaled(PxScale::from(size));
        (f.ascent() - f.descent() + f.line_gap()) * 0.95
    }

    /// Width of one line of text at `size` pixels.
    pub fn measure(&self, text: &str, size: f32) -> f32 {
        let f = self.font.as_scaled(PxScale::from(size));
        let mut width = 0.0;
        let mut prev = None;
        for c in text.chars() {
            let id = f.glyph_id(c);
            if let Some(p) = prev {
                width += f.kern(p, id);
            }
            width += f.h_advance(id);
            prev = Some(id);
        }
        width
    }

    /// `text` wrapped into lines no wider than `max_width` where the words allow (a word wider
    /// than that gets a line of its own and widens the block: nothing is cut).
    pub fn wrap(&self, text: &str, size: f32, max_width: f32) -> TextBlock {
        let mut lines: Vec<String> = Vec::new();
        for word in text.split_whitespace() {
            match lines.last_mut() {
                Some(line) if self.measure(&format!("{line} {word}"), size) <= max_width => {
                    line.push(' ');
                    line.push_str(word);
                }
                _ => lines.push(word.to_string()),
            }
        }
        let width = lines.iter().map(|l| self.measure(l, size)).fold(0.0, f32::max);
        let height = lines.len() as f32 * self.line_height(size);
        TextBlock { lines, size, width, height }
    }

    /// Draws `block` centred on `(cx, cy)`.
    pub fn draw(&self, canvas: &mut Canvas, block: &TextBlock, (cx, cy): (f32, f32), colour: [u8; 3]) {
        let f = self.font.as_scaled(PxScale::from(block.size));
        let lh = self.line_height(block.size);
        let top = cy - block.height / 2.0;
        for (k, line) in block.lines.iter().enumerate() {
            let mut x = cx - self.measure(line, block.size) / 2.0;
            let baseline = top + k as f32 * lh + (lh - (f.ascent() - f.descent())) / 2.0 + f.ascent();
            let mut prev = None;
            for c in line.chars() {
                let id = f.glyph_id(c);
                if let Some(p) = prev {
                    x += f.kern(p, id);
                }
                let glyph = id.with_scale_and_position(block.size, ab_glyph::point(x, baseline));
                if let Some(outlined) = self.font.outline_glyph(glyph) {
                    let b = outlined.px_bounds();
                    outlined.draw(|gx, gy, c| {
                        canvas.blend(b.min.x as i64 + gx as i64, b.min.y as i64 + gy as i64, colour, c);
                    });
                }
                x += f.h_advance(id);
                prev = Some(id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_word_and_the_width() {
        let l = Lettering::new();
        let text = "It's   a long way to the top if you wanna rock 'n' roll, supercalifragilisticexpialidocious!";
        let block = l.wrap(text, 20.0, 150.0);
        assert_eq!(block.text(), text.split_whitespace().collect::<Vec<_>>().join(" "));
        assert!(block.lines.len() >= 4);
        for line in &block.lines {
            assert!(l.measure(line, 20.0) <= 150.0 || !line.contains(' '), "{line}");
        }
        let mut canvas = Canvas::new(400, 200, crate::canvas::WHITE);
        l.draw(&mut canvas, &block, (200.0, 100.0), crate::canvas::BLACK);
        let inked = canvas.rgb.chunks(3).filter(|p| p[0] < 128).count();
        assert!(inked > 500, "{inked} dark pixels");
    }
}
