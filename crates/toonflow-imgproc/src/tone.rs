//! Screentone: the halftone dot screens of printed manga and comics.

/// A dot screen: dots on a square grid rotated by `angle`, sized so the inked fraction of each
/// cell matches the requested coverage.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Screen {
    /// Distance between dot centres in pixels.
    pub cell: f32,
    /// Grid rotation in degrees (45 is the classic angle for black).
    pub angle_deg: f32,
}

impl Default for Screen {
    fn default() -> Self {
        Self { cell: 6.0, angle_deg: 45.0 }
    }
}

impl Screen {
    /// The screen ready to draw: the rotation is computed once here, not per pixel.
    pub fn dots(&self) -> DotScreen {
        let (sin, cos) = self.angle_deg.to_radians().sin_cos();
        DotScreen { cell: self.cell, sin, cos }
    }
}

/// A [`Screen`] prepared for drawing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DotScreen {
    cell: f32,
    sin: f32,
    cos: f32,
}

impl DotScreen {
    /// Ink coverage in `[0, 1]` at pixel `(x, y)` for a tone of `coverage` (0 paper, 1 solid).
    /// Below half coverage the screen draws black dots on paper, above it paper dots on black, so
    /// dark tones stay crisp; dot edges are anti-aliased over one pixel.
    #[inline]
    pub fn ink(&self, x: usize, y: usize, coverage: f32) -> f32 {
        let c = coverage.clamp(0.0, 1.0);
        if c <= 0.0 {
            return 0.0;
        }
        if c >= 1.0 {
            return 1.0;
        }
        let (s, co) = (self.sin, self.cos);
        let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
        let u = (px * co + py * s) / self.cell;
        let v = (-px * s + py * co) / self.cell;
        let (fu, fv) = (u - u.round(), v - v.round());
        let d = (fu * fu + fv * fv).sqrt() * self.cell;
        let dot = |area: f32| (self.cell * (area / std::f32::consts::PI).sqrt() - d + 0.5).clamp(0.0, 1.0);
        if c <= 0.5 {
            dot(c)
        } else {
            1.0 - dot(1.0 - c)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_ink_matches_requested_coverage() {
        let screen = Screen { cell: 8.0, angle_deg: 45.0 }.dots();
        for coverage in [0.1, 0.3, 0.5, 0.7, 0.9] {
            let n = 256;
            let mean: f32 = (0..n * n).map(|i| screen.ink(i % n, i / n, coverage)).sum::<f32>() / (n * n) as f32;
            assert!((mean - coverage).abs() < 0.05, "coverage {coverage}: mean ink {mean}");
        }
    }
}
