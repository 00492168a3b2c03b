//! Two threads increment one counter with no synchronisation: a data race
//! that ThreadSanitizer must report (ci/valgrind tsan, self-check).

use std::thread;

/// A shared address without any synchronisation (usize so it crosses threads).
fn racy_increments(addr: usize, times: u32) {
    for _ in 0..times {
        let p = addr as *mut u64;
        // SAFETY: the allocation outlives both threads; the race is the point.
        unsafe { p.write_volatile(p.read_volatile() + 1) };
    }
}

fn main() {
    let addr = Box::into_raw(Box::new(0u64)) as usize;
    let other = thread::spawn(move || racy_increments(addr, 100_000));
    racy_increments(addr, 100_000);
    other.join().expect("racy thread");
    // SAFETY: both threads are done; the pointer came from Box::into_raw.
    let total = unsafe { Box::from_raw(addr as *mut u64) };
    println!("total {total} (lost updates show the race)");
}
