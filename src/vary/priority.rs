//! Thread priority for the GAN workers (Vary's candidates and Live): the
//! artist waits for them, but a brush stroke must come first.

/// The nice value of the GAN worker: the artist waits for its candidates, but
/// a brush stroke must still come first.
pub const GAN_WORKER_NICE: i32 = 10;

/// Lowers the calling thread's scheduling priority to `nice` (0 normal, 19
/// lowest). On Linux the nice value belongs to each thread, so this affects
/// only the caller and the threads it starts later. Elsewhere it does nothing.
pub fn lower_this_thread_priority(nice: i32) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: setpriority only reads its integer arguments; `who` 0 is the
        // calling thread.
        let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) };
        if rc != 0 {
            tracing::warn!(
                "could not lower a background thread's priority: {}",
                std::io::Error::last_os_error()
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
}
