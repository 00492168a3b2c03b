//! A byte area with the original modules' capacity rules.
//!
//! Buffers (their message queue), writers and readers each own one. Its
//! logical `capacity` is what size limits are checked against: bytes in use
//! plus new bytes must fit, or the area grows by `grow`, or (grow 0) it is
//! full. Physical memory is allocated lazily and never shrinks; consumed
//! space at the front is reused by compaction, so in a steady state no
//! allocation happens.

/// Why bytes could not be reserved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReserveError {
    /// Fixed capacity: the new bytes fit alone, but not with what is in use.
    Full,
    /// Fixed capacity: the new bytes alone exceed it.
    TooLarge { size: usize, limit: usize },
    /// The allocation of `bytes` failed.
    OutOfMemory { bytes: usize },
}

/// The most bytes initialized beyond the need when an area's in-use part grows.
const TOUCH_AHEAD: usize = 256;

pub struct ByteArea {
    data: Vec<u8>,
    start: usize,
    end: usize,
    /// Bytes counted as in use but stored elsewhere (a queue's blocks).
    outside: usize,
    capacity: usize,
    grow: f64,
}

impl ByteArea {
    /// `size` and `grow` as given by the user: negative values count as 0,
    /// size is truncated to whole bytes.
    pub fn new(size: f64, grow: f64) -> ByteArea {
        let capacity = if size.is_nan() || size <= 0.0 {
            0
        } else {
            size.min(usize::MAX as f64) as usize
        };
        let grow = if grow.is_nan() || grow < 0.0 { 0.0 } else { grow };
        ByteArea {
            data: Vec::new(),
            start: 0,
            end: 0,
            outside: 0,
            capacity,
            grow,
        }
    }

    pub fn with_capacity(capacity: usize, grow: f64) -> ByteArea {
        ByteArea::new(capacity as f64, grow)
    }

    /// Bytes in use (as the capacity counts them).
    pub fn len(&self) -> usize {
        self.end - self.start + self.outside
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The logical capacity (the limit reported in message_size errors).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn bytes(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    /// Checks that `n` more bytes fit, growing the capacity if allowed,
    /// without allocating.
    pub fn check(&self, n: usize) -> Result<usize, ReserveError> {
        self.check_with(self.len(), n)
    }

    fn check_with(&self, used: usize, n: usize) -> Result<usize, ReserveError> {
        if self.grow == 0.0 && self.capacity > 0 && n > self.capacity {
            return Err(ReserveError::TooLarge {
                size: n,
                limit: self.capacity,
            });
        }
        let needed = used
            .checked_add(n)
            .ok_or(ReserveError::OutOfMemory { bytes: usize::MAX })?;
        if needed <= self.capacity {
            return Ok(self.capacity);
        }
        if self.capacity == 0 {
            // Nothing allocated yet: twice what is needed, whatever `grow` says.
            return needed
                .checked_mul(2)
                .ok_or(ReserveError::OutOfMemory { bytes: usize::MAX });
        }
        if self.grow > 0.0 {
            let grown = (self.capacity as f64 * self.grow).floor();
            let grown = if grown >= usize::MAX as f64 {
                usize::MAX
            } else {
                grown as usize
            };
            return Ok(grown.max(needed));
        }
        if n > self.capacity {
            Err(ReserveError::TooLarge {
                size: n,
                limit: self.capacity,
            })
        } else {
            Err(ReserveError::Full)
        }
    }

    /// Appends `n` bytes and returns them for writing. On error nothing changes.
    pub fn append(&mut self, n: usize) -> Result<&mut [u8], ReserveError> {
        self.append_split(n, n)
    }

    /// Counts `n` more bytes in use, of which only the first `stored` are
    /// stored here (and returned for writing). On error nothing changes.
    pub fn append_split(&mut self, n: usize, stored: usize) -> Result<&mut [u8], ReserveError> {
        let new_capacity = self.check(n)?;
        if self.end + stored > self.data.len() {
            self.make_room(stored, new_capacity)?;
        }
        self.capacity = new_capacity;
        self.outside += n - stored;
        let at = self.end;
        self.end += stored;
        Ok(&mut self.data[at..at + stored])
    }

    /// Compacts (and, when needed, grows the allocation) so that `n` bytes
    /// fit after the bytes in use.
    fn make_room(&mut self, n: usize, new_capacity: usize) -> Result<(), ReserveError> {
        // The logical capacity is reserved (address space, as the
        // original's malloc: an absurd size fails here), but only touched
        // as it is used, so a large capacity costs no resident memory.
        self.reserve(new_capacity)?;
        let used = self.end - self.start;
        // Compact when the consumed front is at least as large as the part
        // in use (so each byte moves O(1) times on average), or when the
        // allocation has no room left after the part in use.
        if self.start > 0 && (self.start >= used || self.end + n > self.data.capacity()) {
            self.data.copy_within(self.start..self.end, 0);
            self.start = 0;
            self.end = used;
        }
        if self.end + n > self.data.len() {
            // Initialized ahead by doubling, but at most TOUCH_AHEAD at a
            // time: resident memory follows what is in use.
            let ahead = self.data.len().min(TOUCH_AHEAD);
            let target = (self.end + n).max(self.data.len() + ahead).min(self.data.capacity());
            self.data.resize(target, 0);
        }
        Ok(())
    }

    fn reserve(&mut self, capacity: usize) -> Result<(), ReserveError> {
        if self.data.capacity() < capacity {
            self.data
                .try_reserve_exact(capacity - self.data.len())
                .map_err(|_| ReserveError::OutOfMemory { bytes: capacity })?;
        }
        Ok(())
    }

    /// Replaces everything with `n` new bytes, or changes nothing on error
    /// (the memory for the new bytes is obtained before anything is dropped).
    pub fn replace(&mut self, n: usize) -> Result<&mut [u8], ReserveError> {
        self.replace_split(n, n)
    }

    /// `replace` for `n` bytes of which `stored` are stored here (see `append_split`).
    pub fn replace_split(&mut self, n: usize, stored: usize) -> Result<&mut [u8], ReserveError> {
        let new_capacity = self.check_with(0, n)?;
        if self.data.capacity() < new_capacity.max(stored) {
            let mut fresh = Vec::new();
            fresh
                .try_reserve_exact(new_capacity.max(stored))
                .map_err(|_| ReserveError::OutOfMemory { bytes: new_capacity })?;
            self.data = fresh;
        }
        self.clear();
        self.append_split(n, stored)
    }

    /// Drops `n` bytes from the front.
    pub fn consume(&mut self, n: usize) {
        self.consume_split(n, n)
    }

    /// Drops `n` bytes in use, of which the first `stored` are stored here.
    pub fn consume_split(&mut self, n: usize, stored: usize) {
        self.outside = self.outside.saturating_sub(n - stored);
        self.start = (self.start + stored).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Drops `n` bytes from the end (undoing a partial append).
    pub fn truncate_end(&mut self, n: usize) {
        self.end = self.end.saturating_sub(n).max(self.start);
    }

    pub fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
        self.outside = 0;
    }

    /// Clears and returns the memory to the allocator.
    pub fn free(&mut self) {
        self.clear();
        self.data = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_capacity_allocates_twice_the_need_then_is_fixed() {
        let mut a = ByteArea::new(0.0, 0.0);
        a.append(14).unwrap();
        assert_eq!(a.capacity(), 28);
        a.append(4).unwrap();
        assert_eq!(a.append(18).unwrap_err(), ReserveError::Full);
        assert_eq!(
            a.append(103).unwrap_err(),
            ReserveError::TooLarge { size: 103, limit: 28 }
        );
    }

    #[test]
    fn grow_factor_at_most_one_grows_to_need() {
        let mut a = ByteArea::new(4.0, 0.5);
        for _ in 0..10 {
            a.append(4).unwrap();
        }
        assert_eq!(a.capacity(), 40);
    }

    #[test]
    fn failed_replace_keeps_the_contents() {
        let mut a = ByteArea::new(16.0, 1e300);
        a.append(3).unwrap().copy_from_slice(b"abc");
        assert!(matches!(a.replace(1 << 62), Err(ReserveError::OutOfMemory { .. })));
        assert_eq!(a.bytes(), b"abc");
    }

    #[test]
    fn large_capacity_is_not_initialized_up_front() {
        let mut a = ByteArea::new(1e9, 0.0);
        a.append(3).unwrap();
        assert!(a.data.len() < 4096);
        assert_eq!(a.capacity(), 1_000_000_000);
    }

    #[test]
    fn initialized_bytes_follow_the_bytes_in_use() {
        // Miri initializes byte by byte, interpreted: fewer bytes, still
        // far beyond TOUCH_AHEAD.
        let n = if cfg!(miri) { 2_000 } else { 100_000 };
        let mut a = ByteArea::new(1024.0, 2.0);
        for _ in 0..n {
            a.append(15).unwrap();
        }
        assert_eq!(a.len(), 15 * n);
        assert!(a.capacity() >= 15 * n);
        assert!(a.data.len() <= 15 * n + TOUCH_AHEAD, "{} initialized", a.data.len());
        // A consumer that keeps up: the area compacts instead of growing.
        let mut b = ByteArea::new(1024.0, 2.0);
        for _ in 0..n {
            b.append(15).unwrap();
            b.append(15).unwrap();
            b.consume(15);
        }
        b.consume(15 * n);
        assert!(b.is_empty());
    }

    #[test]
    fn consumed_space_is_reused_without_growing() {
        let mut a = ByteArea::new(8.0, 0.0);
        for _ in 0..100 {
            a.append(5).unwrap().copy_from_slice(b"hello");
            assert_eq!(a.bytes(), b"hello");
            a.consume(5);
        }
        assert_eq!(a.capacity(), 8);
    }
}
