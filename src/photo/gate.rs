//! A process-wide cap on the memory photo decodes hold at once. Each decode reserves its
//! estimate (see `budget`) before it starts and gives it back when the photo is fitted; one
//! that would pass the cap waits for others to finish. The per-decode budget bounds one
//! upload; this bounds them all together, however many threads run them (the HTTP intake,
//! a registry import preparing photos on every core).

use std::sync::{Condvar, Mutex};

/// Decodes in flight hold at most this much: three at the full 64 MiB budget, or a dozen
/// ordinary phone photos (about 12 MiB each with DCT scaling). With a server at about
/// 100 MB before uploads, eight hostile uploads at once stay under 300 MiB.
pub const IN_FLIGHT_BYTES: u64 = 192 << 20;

pub struct Gate {
    capacity: u64,
    held: Mutex<u64>,
    freed: Condvar,
}

static PROCESS: Gate = Gate::new(IN_FLIGHT_BYTES);

/// Bytes reserved until dropped.
#[derive(Debug)]
pub struct Reservation {
    gate: &'static Gate,
    bytes: u64,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl Gate {
    pub const fn new(capacity: u64) -> Gate {
        Gate {
            capacity,
            held: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// Waits until `bytes` fit beside what is held, then holds them. A request larger than the
    /// whole capacity waits for the gate to be empty and takes all of it.
    pub fn reserve(&'static self, bytes: u64) -> Reservation {
        let bytes = bytes.min(self.capacity);
        // A poisoned lock only means a holder panicked; the count itself is still right.
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        while *held + bytes > self.capacity {
            held = self.freed.wait(held).unwrap_or_else(|p| p.into_inner());
        }
        *held += bytes;
        Reservation { gate: self, bytes }
    }

    /// Bytes held now.
    pub fn held(&self) -> u64 {
        *self.held.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut held = self.gate.held.lock().unwrap_or_else(|p| p.into_inner());
        *held -= self.bytes;
        self.gate.freed.notify_all();
    }
}

/// Bytes the process's decodes hold now.
pub fn in_flight() -> u64 {
    PROCESS.held()
}

/// Reserves `bytes` from the process's gate.
pub fn reserve(bytes: u64) -> Reservation {
    PROCESS.reserve(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn a_reservation_past_the_capacity_waits_for_one_to_be_released() {
        static GATE: Gate = Gate::new(100);
        let first = GATE.reserve(70);
        assert_eq!(GATE.held(), 70);
        let (tx, rx) = mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let second = GATE.reserve(50);
            tx.send(GATE.held()).unwrap();
            drop(second);
        });
        // Still waiting while the first is held (a bounded wait, not a sleep to synchronise).
        assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
        drop(first);
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), 50);
        waiter.join().unwrap();
        assert_eq!(GATE.held(), 0);
        // More than the capacity takes all of it rather than waiting forever.
        let all = GATE.reserve(1000);
        assert_eq!(GATE.held(), 100);
        drop(all);
        assert_eq!(GATE.held(), 0);
    }
}
