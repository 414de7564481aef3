//! Rectangles in pixels (or in fractions of a picture), shared by layout, lettering and output.

/// An axis-aligned rectangle: left, top, width, height.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Rect {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub w: f32,
    /// Height.
    pub h: f32,
}

impl Rect {
    /// A rectangle from its left, top, width and height.
    pub const fn new(x: f32, y: f32, w: f32, h: f32) -> Self {
        Self { x, y, w, h }
    }

    /// Right edge.
    pub fn right(&self) -> f32 {
        self.x + self.w
    }

    /// Bottom edge.
    pub fn bottom(&self) -> f32 {
        self.y + self.h
    }

    /// Area.
    pub fn area(&self) -> f32 {
        self.w.max(0.0) * self.h.max(0.0)
    }

    /// Centre.
    pub fn center(&self) -> (f32, f32) {
        (self.x + self.w / 2.0, self.y + self.h / 2.0)
    }

    /// Area shared with `other`.
    pub fn overlap(&self, other: &Rect) -> f32 {
        let w = self.right().min(other.right()) - self.x.max(other.x);
        let h = self.bottom().min(other.bottom()) - self.y.max(other.y);
        w.max(0.0) * h.max(0.0)
    }

    /// Whether `other` lies inside this one (edges may touch; `slack` pixels of tolerance).
    pub fn contains(&self, other: &Rect, slack: f32) -> bool {
        other.x >= self.x - slack
            && other.y >= self.y - slack
            && other.right() <= self.right() + slack
            && other.bottom() <= self.bottom() + slack
    }

    /// This rectangle grown by `d` on every side.
    pub fn inflate(&self, d: f32) -> Rect {
        Rect::new(self.x - d, self.y - d, self.w + 2.0 * d, self.h + 2.0 * d)
    }

    /// Mirrored left to right within a width (for right-to-left reading).
    pub fn mirrored(&self, width: f32) -> Rect {
        Rect::new(width - self.right(), self.y, self.w, self.h)
    }

    /// A rectangle in fractions of `from` mapped to pixels of `to`.
    pub fn map(&self, from: &Rect, to: &Rect) -> Rect {
        let (sx, sy) = (to.w / from.w, to.h / from.h);
        Rect::new(to.x + (self.x - from.x) * sx, to.y + (self.y - from.y) * sy, self.w * sx, self.h * sy)
    }
}
