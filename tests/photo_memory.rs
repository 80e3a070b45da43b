//! Peak memory of photo intake over the hostile decode corpus, asserted, not timed: a test
//! binary of its own whose global allocator counts every byte the process holds, on every
//! thread (jpeg-decoder's rayon workers included). Its tests take turns (`MEASURING`), so
//! that nothing else in the binary allocates while one measures.
//!
//! Process-wide heap rather than a server's RSS: the heap is what the estimate models and
//! what the gate bounds, exactly and on any machine; RSS adds the allocator's retained pages
//! and the test harness, which vary from run to run. `scripts/hostile-memory.sh` reports the
//! RSS of this binary beside a baseline for the figures.

use elicence::photo::{self, corpus, IntakeLimits};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Barrier, Mutex};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let live = LIVE.fetch_add(by, SeqCst) + by;
    PEAK.fetch_max(live, SeqCst);
}

// SAFETY: every method hands the call unchanged to the system allocator, which upholds
// GlobalAlloc's contract; the bookkeeping beside it only counts bytes and never allocates.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Counted as the allocator holds it: both blocks while the bytes are copied.
        grew(new_size);
        let moved = System.realloc(ptr, layout, new_size);
        LIVE.fetch_sub(layout.size(), SeqCst);
        moved
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), SeqCst);
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Held by the test that is measuring: the harness runs tests on threads of one process.
static MEASURING: Mutex<()> = Mutex::new(());

/// Runs `f` and returns how far the process's heap rose above where it stood at the start.
fn peak_growth<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let start = LIVE.load(SeqCst);
    PEAK.store(start, SeqCst);
    let out = f();
    (out, PEAK.load(SeqCst).saturating_sub(start))
}

const MIB: usize = 1 << 20;
/// The bounds: each decode, and eight at once for the whole process.
const ONE_DECODE: usize = 64 * MIB;
const EIGHT_AT_ONCE: usize = 300 * MIB;

fn mib(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / MIB as f64)
}

/// The baseline for the figures: an ordinary 12 MP phone photo, alone and eight at once.
#[test]
fn baseline_phone_photo_peak_memory() {
    let _turn = MEASURING.lock().unwrap_or_else(|p| p.into_inner());
    let limits = IntakeLimits::default();
    let upload = elicence::registry::portrait::phone_jpeg(92);
    photo::normalise(&upload, &limits).unwrap();
    let (_, alone) = peak_growth(|| photo::normalise(&upload, &limits).unwrap());
    let (_, eight) = peak_growth(|| eight_at_once(&[upload.as_slice(); 8], &limits));
    let estimated = photo::inspect(&upload, &limits).unwrap().1.estimated_bytes as usize;
    assert!(alone <= estimated, "{alone} > {estimated}");
    println!(
        "baseline, a 12 MP phone JPEG ({} bytes): alone {} (estimated {}), eight at once {}",
        upload.len(),
        mib(alone),
        mib(estimated),
        mib(eight)
    );
}

#[test]
fn hostile_corpus_peak_memory_alone_and_eight_at_once() {
    let _turn = MEASURING.lock().unwrap_or_else(|p| p.into_inner());
    let limits = IntakeLimits::default();
    let corpus = corpus::hostile();
    // rayon's pool and other one-time state are made by a first decode, outside the figures.
    photo::normalise(&corpus::FlatJpeg::progressive(64, 64, 3).encode(), &limits).unwrap();

    let mut rows = Vec::new();
    let mut decoded = Vec::new();
    for (name, bytes) in &corpus {
        let inspected = photo::inspect(bytes, &limits);
        let (outcome, peak) = peak_growth(|| photo::normalise(bytes, &limits).map(|_| ()));
        let outcome = match (&inspected, &outcome) {
            (Ok((_, plan)), Ok(())) => {
                // The estimate is an upper bound of what the decode really took.
                assert!(
                    peak <= plan.estimated_bytes as usize,
                    "{name}: measured {peak} > estimated {}",
                    plan.estimated_bytes
                );
                decoded.push((peak, name, bytes));
                format!("decoded, estimated {}", mib(plan.estimated_bytes as usize))
            }
            (Err(refusal), Err(e)) if refusal == e => {
                // Refused from the headers: nothing was decoded.
                assert!(peak < MIB, "{name}: refused after {peak} bytes");
                format!("refused: {}", e.details())
            }
            _ => panic!("{name}: inspected {inspected:?}, decoded {outcome:?}"),
        };
        assert!(peak <= ONE_DECODE, "{name}: {peak} bytes");
        rows.push(format!("  {name:<48} {:>10}  {outcome}", mib(peak)));
    }
    assert_eq!(photo::in_flight(), 0, "every reservation is given back");
    assert!(
        decoded.len() >= 8,
        "the corpus decodes enough files to run eight at once"
    );

    // Eight uploads at once, released together: the eight costliest files the corpus decodes,
    // then eight copies of the costliest (what one client would send).
    decoded.sort_by_key(|(peak, ..)| std::cmp::Reverse(*peak));
    let costliest: Vec<&[u8]> = decoded
        .iter()
        .take(8)
        .map(|(_, _, b)| b.as_slice())
        .collect();
    let worst = vec![costliest[0]; 8];
    let mut parallel = Vec::new();
    for (label, files) in [
        ("eight costliest files", &costliest),
        ("eight of the costliest", &worst),
    ] {
        let (_, peak) = peak_growth(|| eight_at_once(files, &limits));
        assert!(peak <= EIGHT_AT_ONCE, "{label}: {peak} bytes at once");
        parallel.push(format!("  {label:<48} {:>10}", mib(peak)));
    }
    assert_eq!(photo::in_flight(), 0);
    println!(
        "peak heap growth of photo::normalise (budget {}, gate {}):\n{}\nin parallel:\n{}",
        mib(ONE_DECODE),
        mib(photo::IN_FLIGHT_BYTES as usize),
        rows.join("\n"),
        parallel.join("\n")
    );
}

fn eight_at_once(files: &[&[u8]], limits: &IntakeLimits) {
    let start = Barrier::new(files.len());
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for bytes in files {
            let (start, failures) = (&start, &failures);
            scope.spawn(move || {
                start.wait();
                if let Err(e) = photo::normalise(bytes, limits) {
                    failures.lock().unwrap().push(e);
                }
            });
        }
    });
    assert_eq!(failures.into_inner().unwrap(), []);
}
