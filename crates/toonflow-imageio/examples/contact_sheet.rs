//! Lays images out in a grid: one row per argument, each row a comma-separated list of files,
//! every cell scaled to the same height, a white gutter between cells.
//!
//! `cargo run --release -p toonflow-imageio --example contact_sheet -- OUT HEIGHT ROW...`
//! (docs/make-contact-sheets.sh shows it in use).

use std::path::Path;
use toonflow_imageio::{read_image, write_image, ReadOptions};
use toonflow_imgproc::resize::{resize_frame, ResizeFilter};
use toonflow_imgproc::{Frame, Plane};

const GUTTER: usize = 6;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out, height, rows @ ..] = args.as_slice() else {
        return Err("usage: contact_sheet OUT HEIGHT ROW... (ROW = file,file,...)".into());
    };
    let cell_h: usize = height.parse()?;
    let mut grid: Vec<Vec<Frame>> = Vec::new();
    for row in rows {
        let mut cells = Vec::new();
        for file in row.split(',') {
            let frame = read_image(Path::new(file), &ReadOptions::default())?;
            let w = (frame.width() * cell_h).div_ceil(frame.height());
            let mut cell = resize_frame(&frame, w, cell_h, ResizeFilter::Area);
            cell.alpha = None;
            cells.push(cell);
        }
        grid.push(cells);
    }
    let row_w = |cells: &Vec<Frame>| cells.iter().map(|c| c.width() + GUTTER).sum::<usize>() + GUTTER;
    let width = grid.iter().map(row_w).max().unwrap_or(0);
    let height = grid.len() * (cell_h + GUTTER) + GUTTER;
    let mut sheet: [Vec<f32>; 3] = std::array::from_fn(|_| vec![1.0; width * height]);
    for (r, cells) in grid.iter().enumerate() {
        let y0 = GUTTER + r * (cell_h + GUTTER);
        let mut x0 = GUTTER;
        for cell in cells {
            for (c, plane) in sheet.iter_mut().enumerate() {
                for y in 0..cell_h {
                    let dst = (y0 + y) * width + x0;
                    plane[dst..dst + cell.width()].copy_from_slice(cell.rgb[c].row(y));
                }
            }
            x0 += cell.width() + GUTTER;
        }
    }
    let planes = sheet.map(|data| Plane::from_vec(width, height, data));
    write_image(&Frame::new(planes, None), Path::new(out))?;
    Ok(())
}
