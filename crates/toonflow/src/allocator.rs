//! Process-wide allocator settings for programs that run the models.

/// Keeps freed memory in the process for reuse. Every network layer and every video frame
/// allocates and frees buffers of several to hundreds of megabytes; by default glibc maps each
/// one fresh from the kernel and unmaps it when freed, so every use paid page faults and kernel
/// zeroing: a fifth of a training step, a quarter of a GAN stylization, a sixth of a stabilized
/// video. Peak memory stays the same. Call it first thing in `main`, before other threads exist.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn keep_freed_memory() {
    // SAFETY: mallopt only changes allocator thresholds, and runs before any other thread.
    unsafe {
        // Blocks up to 1 GiB come from the heap; glibc versions that refuse a threshold above
        // 32 MiB get that, their largest.
        if libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30) == 0 {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        }
        // The heap is not given back to the kernel while the program runs.
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}

/// Elsewhere the platform allocator's defaults stay.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn keep_freed_memory() {}
