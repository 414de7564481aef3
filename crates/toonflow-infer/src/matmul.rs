//! Matrix products through the `gemm` kernel, behind one safe, size-checked wrapper: every
//! caller (the CPU generator here, the training convolutions in toonflow-model) describes its
//! operands as strided views of slices, and the bounds are checked before the kernel runs.

/// A read-only strided matrix in a slice: element `(i, j)` at `data[i * row_stride + j * col_stride]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> MatRef<'a> {
    /// A `rows x cols` matrix stored row by row, rows `row_stride` apart (`cols` when packed).
    pub fn rows(data: &'a [f32], rows: usize, cols: usize, row_stride: usize) -> Self {
        Self { data, rows, cols, row_stride, col_stride: 1 }
    }

    /// The transpose of a row-major `cols x rows` matrix with rows `row_stride` apart.
    pub fn transposed(data: &'a [f32], rows: usize, cols: usize, row_stride: usize) -> Self {
        Self { data, rows, cols, row_stride: 1, col_stride: row_stride }
    }

    /// Whether every element lies inside the slice.
    fn in_bounds(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1)
                .checked_mul(self.row_stride)
                .zip((self.cols - 1).checked_mul(self.col_stride))
                .and_then(|(a, b)| a.checked_add(b))
                .is_some_and(|last| last < self.data.len())
    }
}

/// Threads for one product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threads {
    /// The calling thread only (the caller already runs products in parallel).
    One,
    /// The rayon pool.
    All,
}

/// `dst = lhs · rhs`, or `dst += lhs · rhs` with `accumulate`; `dst` is `lhs.rows x rhs.cols`,
/// row-major with rows `dst_row_stride` apart.
///
/// # Panics
/// If the shapes do not chain or a view reaches past its slice (expected vs found in the message).
pub fn matmul(dst: &mut [f32], dst_row_stride: usize, lhs: MatRef, rhs: MatRef, accumulate: bool, threads: Threads) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    assert_eq!(rhs.rows, k, "matrix product: lhs has {k} columns, rhs {} rows", rhs.rows);
    assert!(lhs.in_bounds() && rhs.in_bounds(), "matrix product: an operand view reaches past its slice");
    let out = MatRef::rows(dst, m, n, dst_row_stride);
    assert!(out.in_bounds(), "matrix product: {m}x{n} output with row stride {dst_row_stride} in {} values", dst.len());
    if m == 0 || n == 0 {
        return;
    }
    let parallelism = match threads {
        Threads::One => gemm::Parallelism::None,
        Threads::All => gemm::Parallelism::Rayon(0),
    };
    // SAFETY: the asserts above keep every element the kernel reads (lhs, rhs) or writes (dst)
    // inside its slice; dst is borrowed mutably, so it aliases neither operand.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_row_stride as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        (0..m * n).map(|i| (0..k).map(|t| a[(i / n) * k + t] * b[t * n + i % n]).sum()).collect()
    }

    #[test]
    fn products_match_a_plain_loop_including_transposes_and_strides() {
        let (m, k, n) = (5, 7, 3);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.3).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.7).cos()).collect();
        let want = reference(&a, &b, m, k, n);
        let mut c = vec![0f32; m * n];
        matmul(&mut c, n, MatRef::rows(&a, m, k, k), MatRef::rows(&b, k, n, n), false, Threads::One);
        assert!(c.iter().zip(&want).all(|(x, y)| (x - y).abs() < 1e-5));
        // bᵀᵀ: b stored transposed (n x k), read as its transpose.
        let bt: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
        let mut d = vec![1f32; m * (n + 2)];
        matmul(&mut d, n + 2, MatRef::rows(&a, m, k, k), MatRef::transposed(&bt, k, n, k), true, Threads::All);
        for i in 0..m {
            for j in 0..n {
                assert!((d[i * (n + 2) + j] - 1.0 - want[i * n + j]).abs() < 1e-5);
            }
            assert_eq!(d[i * (n + 2) + n], 1.0, "padding columns untouched");
        }
    }

    #[test]
    #[should_panic(expected = "reaches past")]
    fn a_short_operand_is_refused() {
        let mut c = vec![0f32; 4];
        matmul(&mut c, 2, MatRef::rows(&[1.0; 3], 2, 2, 2), MatRef::rows(&[1.0; 4], 2, 2, 2), false, Threads::One);
    }
}
