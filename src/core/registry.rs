//! Process-wide registries: find shared objects by id or by name.
//!
//! The registry holds weak references only: an object is findable while
//! something (a Lua reference or a C API holder) keeps it alive, and leaves
//! the registry when its last reference goes. Names are looked up by hash,
//! not by scanning every object.

use super::sync::lock;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// What a registered object tells the registry about itself.
pub trait Registered {
    fn id(&self) -> u64;
    fn name(&self) -> Option<&[u8]>;
}

pub struct Registry<T> {
    inner: Mutex<Option<Inner<T>>>,
}

struct Inner<T> {
    by_id: HashMap<u64, Weak<T>>,
    by_name: HashMap<Box<[u8]>, Vec<u64>>,
}

/// The outcome of a lookup by name.
pub enum Found<T> {
    One(Arc<T>),
    None,
    Ambiguous,
}

impl<T: Registered> Default for Registry<T> {
    fn default() -> Self {
        Registry::new()
    }
}

impl<T: Registered> Registry<T> {
    pub const fn new() -> Registry<T> {
        Registry {
            inner: Mutex::new(None),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner<T>) -> R) -> R {
        let mut g = lock(&self.inner);
        let inner = g.get_or_insert_with(|| Inner {
            by_id: HashMap::new(),
            by_name: HashMap::new(),
        });
        f(inner)
    }

    pub fn insert(&self, obj: &Arc<T>) {
        let id = obj.id();
        let weak = Arc::downgrade(obj);
        self.with(|r| {
            r.by_id.insert(id, weak);
            if let Some(name) = obj.name() {
                r.by_name.entry(name.into()).or_default().push(id);
            }
        });
    }

    /// Removes an object (called from its destructor).
    pub fn remove(&self, id: u64, name: Option<&[u8]>) {
        self.with(|r| {
            r.by_id.remove(&id);
            if let Some(name) = name {
                if let Some(ids) = r.by_name.get_mut(name) {
                    ids.retain(|i| *i != id);
                    if ids.is_empty() {
                        r.by_name.remove(name);
                    }
                }
            }
        });
    }

    /// The live object with this id that passes `visible`.
    pub fn find_id(&self, id: u64, visible: impl Fn(&T) -> bool) -> Option<Arc<T>> {
        let found = self.with(|r| r.by_id.get(&id).and_then(Weak::upgrade));
        // The Arc is checked (and possibly dropped) outside the registry
        // lock: dropping the last reference re-enters the registry.
        found.filter(|o| visible(o))
    }

    /// The live objects named `name` that pass `visible`: one, none, or more.
    pub fn find_name(&self, name: &[u8], visible: impl Fn(&T) -> bool) -> Found<T> {
        let candidates: Vec<Arc<T>> = self.with(|r| {
            r.by_name
                .get(name)
                .map(|ids| {
                    ids.iter()
                        .filter_map(|id| r.by_id.get(id).and_then(Weak::upgrade))
                        .collect()
                })
                .unwrap_or_default()
        });
        let mut visible_ones = candidates.into_iter().filter(|o| visible(o));
        match (visible_ones.next(), visible_ones.next()) {
            (None, _) => Found::None,
            (Some(o), None) => Found::One(o),
            (Some(_), Some(_)) => Found::Ambiguous,
        }
    }

    /// Every live object (for process-wide operations such as abort).
    pub fn all(&self) -> Vec<Arc<T>> {
        self.with(|r| r.by_id.values().filter_map(Weak::upgrade).collect())
    }
}

/// A process-wide id counter: starts at a pseudo-random value in
/// 0..2^24 (as the originals do) and counts up; ids are never reused.
pub struct IdCounter {
    next: OnceLock<AtomicU64>,
}

impl Default for IdCounter {
    fn default() -> Self {
        IdCounter::new()
    }
}

impl IdCounter {
    pub const fn new() -> IdCounter {
        IdCounter { next: OnceLock::new() }
    }

    pub fn next_id(&self) -> u64 {
        self.next
            .get_or_init(|| AtomicU64::new(random_start(self as *const _ as usize)))
            .fetch_add(1, Ordering::Relaxed)
    }
}

fn random_start(seed: usize) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    // A cheap mix (splitmix64) of the address and the time.
    let mut x = nanos ^ (seed as u64).rotate_left(32);
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (x ^ (x >> 31)) & 0xFF_FFFF
}
