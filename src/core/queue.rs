//! A buffer's message queue: where the bytes of its messages live.
//!
//! Small messages are stored inline (header and elements) in one byte
//! area; copying them in and out under the group lock is cheap. A large
//! message's elements get a block of their own, written before the lock is
//! taken and handed out whole, so neither the producer's nor the consumer's
//! copy of a large message happens under the lock, and the area never
//! compacts queued megabytes (bench/README: "64 KiB messages"). Blocks are
//! recycled: the block a consumer is done with waits in the queue for the
//! producer's next message, so a steady stream allocates nothing.
//!
//! Capacity accounting is the same for both: the area counts a block's
//! elements as if they were inline.

use super::encoding;
use super::memory::{ByteArea, ReserveError};
use std::cell::Cell;
use std::collections::VecDeque;

/// Messages whose elements take at least this many bytes get a block.
pub const LARGE_MESSAGE: usize = 4096;
/// The most memory in idle blocks a queue keeps for reuse: enough for a
/// consumer that takes a burst of messages to hand their blocks to the
/// producer's next burst (bench/allocs, big2), bounded per buffer.
const SPARE_BYTES: usize = if cfg!(miri) {
    // Under Miri a smaller bound lets the test that exceeds it run in
    // seconds: it writes every byte of each block one by one.
    256 << 10
} else {
    4 << 20
};

thread_local! {
    /// This thread's scratch vector: a consumer's last block, a producer's next.
    static SCRATCH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Takes this thread's scratch vector (give it back with `keep_scratch`).
pub fn take_scratch() -> Vec<u8> {
    SCRATCH.with(Cell::take)
}

/// Gives `v` back as this thread's scratch vector, keeping the larger one.
pub fn keep_scratch(v: Vec<u8>) {
    SCRATCH.with(|cell| {
        let old = cell.take();
        cell.set(if old.capacity() > v.capacity() { old } else { v });
    });
}

/// The elements of one large message, outside the area.
pub struct Block {
    data: Vec<u8>,
    /// The elements are `data[start..start + len]`.
    start: usize,
    len: usize,
}

/// A block's elements start where a leading long string's bytes fall on a
/// cache-line boundary: both 64 KiB copies (into the block, out into the
/// receiver's Lua string) then have one aligned side, measurably faster.
const ALIGN: usize = 64;

impl Block {
    /// A block of `len` bytes written by `write`, in this thread's scratch
    /// vector (a recycled block in a steady state).
    pub fn write(len: usize, write: impl FnOnce(&mut [u8])) -> Result<Block, ReserveError> {
        let mut data = take_scratch();
        let need = len + ALIGN;
        if data.len() < need {
            if data.try_reserve_exact(need - data.len()).is_err() {
                keep_scratch(data);
                return Err(ReserveError::OutOfMemory { bytes: len });
            }
            data.resize(need, 0);
        }
        let payload = data.as_ptr() as usize + encoding::LONG_STRING_PAYLOAD;
        let start = (ALIGN - payload % ALIGN) % ALIGN;
        write(&mut data[start..start + len]);
        Ok(Block { data, start, len })
    }

    fn bytes(&self) -> &[u8] {
        &self.data[self.start..self.start + self.len]
    }

    /// Gives an unused block back to this thread.
    pub fn recycle(self) {
        keep_scratch(self.data);
    }
}

/// What a producer hands to `MessageQueue::push`: the elements are written
/// inline (under the lock) or were written into a block beforehand.
pub enum Elements<W: FnOnce(&mut [u8])> {
    Inline(usize, W),
    Block(Block),
}

impl<W: FnOnce(&mut [u8])> Elements<W> {
    /// Large messages get their block now, before the caller locks.
    pub fn prepare(len: usize, write: W) -> Result<Self, ReserveError> {
        if len >= LARGE_MESSAGE {
            Block::write(len, write).map(Elements::Block)
        } else {
            Ok(Elements::Inline(len, write))
        }
    }

    fn len(&self) -> usize {
        match self {
            Elements::Inline(len, _) => *len,
            Elements::Block(b) => b.len,
        }
    }

    /// Gives the block of a message that was not stored back to this thread.
    pub fn recycle(self) {
        if let Elements::Block(b) = self {
            b.recycle();
        }
    }
}

pub struct MessageQueue {
    area: ByteArea,
    /// Elements of the large messages in the area, in order.
    blocks: VecDeque<Block>,
    spares: Vec<Vec<u8>>,
    /// Capacity of the spares.
    spare_bytes: usize,
}

impl MessageQueue {
    pub fn new(area: ByteArea) -> MessageQueue {
        MessageQueue {
            area,
            blocks: VecDeque::new(),
            spares: Vec::new(),
            spare_bytes: 0,
        }
    }

    /// Adds one message (after discarding all others if `replace`; a failed
    /// replace changes nothing). On error the elements come back unused.
    /// A stored block may leave a spare one for the producer's next message.
    pub fn push<W: FnOnce(&mut [u8])>(
        &mut self,
        replace: bool,
        elements: Elements<W>,
    ) -> Result<(), (ReserveError, Elements<W>)> {
        let len = elements.len();
        let h = encoding::header_len(len);
        let inline = match elements {
            Elements::Inline(..) => len,
            Elements::Block(_) => 0,
        };
        let reserved = if replace {
            self.area.replace_split(h + len, h + inline)
        } else {
            self.area.append_split(h + len, h + inline)
        };
        let area = match reserved {
            Ok(area) => area,
            Err(e) => return Err((e, elements)),
        };
        let n = encoding::encode_header(area, len);
        let block = match elements {
            Elements::Inline(_, write) => {
                write(&mut area[n..]);
                None
            }
            Elements::Block(b) => Some(b),
        };
        if replace {
            let dropped = std::mem::take(&mut self.blocks);
            dropped.into_iter().for_each(|b| self.keep_spare(b.data));
        }
        if let Some(b) = block {
            self.blocks.push_back(b);
            if let Some(spare) = self.spares.pop() {
                self.spare_bytes -= spare.capacity();
                keep_scratch(spare);
            }
        }
        Ok(())
    }

    fn keep_spare(&mut self, v: Vec<u8>) {
        let size = v.capacity();
        if size >= LARGE_MESSAGE && self.spare_bytes + size <= SPARE_BYTES {
            self.spare_bytes += size;
            self.spares.push(v);
        }
    }

    /// The first message (there must be one).
    pub fn front(&mut self) -> Front<'_> {
        let bytes = self.area.bytes();
        let (header, len) = encoding::decode_header(bytes).unwrap_or((bytes.len(), 0));
        Front {
            queue: self,
            header,
            len,
            moved: false,
        }
    }

    /// Logical bytes in use and capacity, as the size limits count them.
    pub fn len(&self) -> usize {
        self.area.len()
    }

    pub fn is_empty(&self) -> bool {
        self.area.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.area.capacity()
    }

    pub fn clear(&mut self) {
        self.area.clear();
        let dropped = std::mem::take(&mut self.blocks);
        dropped.into_iter().for_each(|b| self.keep_spare(b.data));
    }

    /// Clears and returns all memory to the allocator.
    pub fn free(&mut self) {
        self.area.free();
        self.blocks = VecDeque::new();
        self.spares = Vec::new();
        self.spare_bytes = 0;
    }
}

/// The first message of a queue, handed to a taker under the group lock.
pub struct Front<'a> {
    queue: &'a mut MessageQueue,
    header: usize,
    len: usize,
    moved: bool,
}

impl Front<'_> {
    fn is_block(&self) -> bool {
        self.len >= LARGE_MESSAGE
    }

    /// The message's element bytes.
    pub fn bytes(&self) -> &[u8] {
        if self.is_block() {
            return self.queue.blocks.front().map_or(&[], Block::bytes);
        }
        self.queue
            .area
            .bytes()
            .get(self.header..self.header + self.len)
            .unwrap_or_default()
    }

    /// Moves the element bytes into `out` and returns where they are in it.
    /// A block changes places with `out`'s allocation instead of being
    /// copied; `out`'s old allocation stays as a spare for the producer.
    pub fn move_into(&mut self, out: &mut Vec<u8>) -> std::ops::Range<usize> {
        if self.is_block() {
            if let Some(b) = self.queue.blocks.pop_front() {
                let old = std::mem::replace(out, b.data);
                self.queue.keep_spare(old);
                self.moved = true;
                return b.start..b.start + b.len;
            }
        }
        out.clear();
        out.extend_from_slice(self.bytes());
        0..self.len
    }

    /// Removes the message from the queue (done by the taker after use).
    pub fn remove(self) {
        let q = self.queue;
        if self.len >= LARGE_MESSAGE {
            if !self.moved {
                if let Some(b) = q.blocks.pop_front() {
                    q.keep_spare(b.data);
                }
            }
            q.area.consume_split(self.header + self.len, self.header);
        } else {
            q.area.consume_split(self.header + self.len, self.header + self.len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(q: &mut MessageQueue, replace: bool, msg: &[u8]) -> Result<(), ReserveError> {
        let write = |out: &mut [u8]| out.copy_from_slice(msg);
        let e = Elements::prepare(msg.len(), write)?;
        q.push(replace, e).map_err(|(e, els)| {
            els.recycle();
            e
        })
    }

    fn take(q: &mut MessageQueue) -> Vec<u8> {
        let mut out = Vec::new();
        let mut f = q.front();
        let r = f.move_into(&mut out);
        f.remove();
        out[r].to_vec()
    }

    #[test]
    fn small_and_large_messages_keep_their_order() {
        let mut q = MessageQueue::new(ByteArea::new(0.0, 2.0));
        let big: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        put(&mut q, false, b"abc").unwrap();
        put(&mut q, false, &big).unwrap();
        put(&mut q, false, b"de").unwrap();
        put(&mut q, false, &big[1..]).unwrap();
        assert_eq!(take(&mut q), b"abc");
        assert_eq!(take(&mut q), big);
        assert_eq!(take(&mut q), b"de");
        assert_eq!(take(&mut q), &big[1..]);
        assert!(q.is_empty());
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn blocks_count_toward_a_fixed_capacity_exactly() {
        let big = vec![7u8; 5000];
        // header 9 + 5000 elements fits twice in 10018 bytes, not three times.
        let mut q = MessageQueue::new(ByteArea::new(10018.0, 0.0));
        put(&mut q, false, &big).unwrap();
        put(&mut q, false, &big).unwrap();
        assert_eq!(q.len(), 10018);
        assert_eq!(put(&mut q, false, &big), Err(ReserveError::Full));
        assert_eq!(take(&mut q), big);
        assert_eq!(q.len(), 5009);
        put(&mut q, false, &big).unwrap();
        let too_large = vec![0u8; 10018];
        assert!(matches!(
            put(&mut q, false, &too_large),
            Err(ReserveError::TooLarge { .. })
        ));
    }

    #[test]
    fn replace_discards_blocks_and_a_failed_replace_keeps_them() {
        let mut q = MessageQueue::new(ByteArea::new(6000.0, 0.0));
        let big = vec![1u8; 5000];
        put(&mut q, false, &big).unwrap();
        assert_eq!(put(&mut q, true, &vec![0u8; 7000]).map_err(|_| ()), Err(()));
        assert_eq!(q.len(), 5009);
        put(&mut q, true, b"x").unwrap();
        assert_eq!(take(&mut q), b"x");
        assert!(q.is_empty());
    }

    #[test]
    fn a_burst_of_blocks_is_kept_for_the_next_burst_within_a_bound() {
        let mut q = MessageQueue::new(ByteArea::new(0.0, 2.0));
        // A burst well past SPARE_BYTES, of blocks well under it.
        let (size, burst) = if cfg!(miri) { (8 * 1024, 40) } else { (64 * 1024, 200) };
        assert!(burst * size > SPARE_BYTES + 4 * size && SPARE_BYTES / size > 16);
        let big = vec![5u8; size];
        // Each take hands the consumer's previous block to the spares.
        let mut out = Vec::new();
        for _ in 0..burst {
            put(&mut q, false, &big).unwrap();
        }
        for _ in 0..burst {
            let mut f = q.front();
            let r = f.move_into(&mut out);
            f.remove();
            assert_eq!(&out[r], &big[..]);
        }
        assert!(q.spares.len() > 16, "a burst's blocks are kept");
        assert!(q.spare_bytes <= SPARE_BYTES);
        assert_eq!(q.spare_bytes, q.spares.iter().map(Vec::capacity).sum::<usize>());
        put(&mut q, false, &big).unwrap();
        assert_eq!(q.spare_bytes, q.spares.iter().map(Vec::capacity).sum::<usize>());
        q.free();
        assert_eq!(q.spare_bytes, 0);
    }

    #[test]
    fn a_steady_stream_reuses_its_blocks() {
        let mut q = MessageQueue::new(ByteArea::new(0.0, 2.0));
        let big = vec![3u8; 8000];
        let mut out = Vec::new();
        for round in 0..100 {
            put(&mut q, false, &big).unwrap();
            let mut f = q.front();
            let r = f.move_into(&mut out);
            f.remove();
            assert_eq!(&out[r], &big[..]);
            // Two allocations change places: the scratch and the consumer's.
            if round > 2 {
                assert!(q.spares.len() <= 1);
            }
        }
    }
}
