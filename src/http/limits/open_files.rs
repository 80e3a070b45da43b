//! The open-files limit. Every connection is a file descriptor: with the soft limit at 256,
//! 300 slow connections made `/healthz` refuse connections and the keys watcher fail with
//! "Too many open files". At start the soft limit is raised to the hard one (what a process
//! may do without privileges), and the connections each worker accepts are capped below it.

/// Descriptors kept for everything but client connections: the database pools (a SQLite
/// connection holds up to three: database, log, shared memory), the listener, each worker's
/// poller, key files being read, the log.
pub const RESERVED: u64 = 256;

/// actix's own default for `max_connections` per worker.
pub const ACTIX_DEFAULT_MAX_CONNECTIONS: usize = 25_000;

/// The open-files limit before and after raising it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFiles {
    pub soft_before: u64,
    pub soft: u64,
    pub hard: u64,
}

/// Raises the soft open-files limit to the hard limit.
pub fn raise_to_hard_limit() -> std::io::Result<OpenFiles> {
    let (soft_before, _) = rlimit::getrlimit(rlimit::Resource::NOFILE)?;
    rlimit::increase_nofile_limit(u64::MAX)?;
    let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE)?;
    Ok(OpenFiles {
        soft_before,
        soft,
        hard,
    })
}

/// Connections per worker that `soft` open files allow beside [`RESERVED`], shared by
/// `workers`: at least 16, at most actix's own default.
pub fn connections_per_worker(soft: u64, workers: usize) -> usize {
    let per_worker = soft.saturating_sub(RESERVED) / workers.max(1) as u64;
    usize::try_from(per_worker)
        .unwrap_or(usize::MAX)
        .clamp(16, ACTIX_DEFAULT_MAX_CONNECTIONS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_stay_below_the_open_files_limit() {
        assert_eq!(connections_per_worker(256, 2), 16);
        assert_eq!(connections_per_worker(1024, 2), 384);
        assert_eq!(connections_per_worker(20_000, 2), 9_872);
        assert_eq!(connections_per_worker(1 << 20, 2), 25_000);
        assert_eq!(connections_per_worker(u64::MAX, 0), 25_000);
    }

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let limits = raise_to_hard_limit().unwrap();
        assert!(limits.soft >= limits.soft_before);
        // macOS caps it further (kern.maxfilesperproc); Linux takes the hard limit itself.
        #[cfg(target_os = "linux")]
        assert_eq!(limits.soft, limits.hard);
        assert_eq!(
            rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap().0,
            limits.soft
        );
    }
}
