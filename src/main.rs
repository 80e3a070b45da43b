fn main() -> std::process::ExitCode {
    fix_the_mmap_threshold();
    elicence::cli::run()
}

/// glibc raises its mmap threshold to the size of each large block freed (up to 32 MiB), after
/// which the photo decoders' buffers come from per-thread arenas that keep them resident:
/// eight hostile decodes at once left 458 MiB of RSS for a 147 MiB heap peak. At a fixed 1 MiB
/// threshold large buffers are mapped and given back when freed: 160 MiB
/// (docs/photo-limits.md). The same as `MALLOC_MMAP_THRESHOLD_=1048576`, which still wins.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn fix_the_mmap_threshold() {
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
        // SAFETY: called first thing in main, before any other thread exists.
        unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20) };
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn fix_the_mmap_threshold() {}
