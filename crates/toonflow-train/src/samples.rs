//! Sample grids: images side by side, for watching a run learn.

use toonflow_imgproc::frame::Frame;
use toonflow_imgproc::ImageTensor;

/// A grid of images of one size, `columns` per row, 2-pixel white gaps.
pub fn image_grid(images: &[ImageTensor], columns: usize) -> Frame {
    let (side_w, side_h) = images.first().map_or((1, 1), |i| (i.width, i.height));
    let columns = columns.max(1);
    let rows = images.len().div_ceil(columns);
    let gap = 2;
    let (w, h) = (columns * (side_w + gap) + gap, rows * (side_h + gap) + gap);
    let mut canvas = ImageTensor::new(w, h, vec![1.0; 3 * w * h]);
    for (i, image) in images.iter().enumerate() {
        let (x0, y0) = (gap + (i % columns) * (side_w + gap), gap + (i / columns) * (side_h + gap));
        for c in 0..3 {
            for y in 0..image.height.min(side_h) {
                let src = &image.plane(c)[y * image.width..][..image.width.min(side_w)];
                let dst = (c * h + y0 + y) * w + x0;
                canvas.data[dst..dst + src.len()].copy_from_slice(src);
            }
        }
    }
    canvas.to_frame()
}
