//! What a value really holds in memory, measured where it is built.
//!
//! The upstream cache is bounded by `--cache-max-mb`, so each entry must
//! weigh what it holds. Weighing an answer by the size of its JSON
//! undercounted it several times over (a three-letter code is five bytes of
//! JSON and a 24-byte `String` plus its allocation decoded), and a cache
//! "of 64 MB" held hundreds. The process's allocator is wrapped by
//! [`Counting`], which, only on a thread that asked, adds up what is
//! allocated and freed; [`measure`] runs a decoder so and returns the bytes
//! it left allocated: the decoded value's real size, temporaries excluded.
//! Outside a measurement the wrapper costs one thread-local read per
//! allocation.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

thread_local! {
    /// Bytes allocated minus bytes freed on this thread while measuring;
    /// `None` when not measuring. Const-initialised and without a
    /// destructor, so the allocator may touch it at any time.
    static RETAINED: Cell<Option<isize>> = const { Cell::new(None) };
}

/// Whether the process allocates through [`Counting`] (tests and benches
/// that do not fall back to an estimate).
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// A global allocator that counts, on request, what a thread retains.
pub struct Counting<A>(pub A);

fn note(change: isize) {
    // `try_with`: during thread teardown the slot may be gone.
    let _ = RETAINED.try_with(|retained| {
        if let Some(bytes) = retained.get() {
            retained.set(Some(bytes + change));
        }
    });
}

// SAFETY: every call is delegated to the wrapped allocator unchanged; the
// counting only reads and writes a thread-local `Cell`, which allocates
// nothing.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Counting<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size() as isize);
        unsafe { self.0.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size() as isize);
        unsafe { self.0.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note(-(layout.size() as isize));
        unsafe { self.0.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size as isize - layout.size() as isize);
        unsafe { self.0.realloc(ptr, layout, new_size) }
    }
}

impl<A> Counting<A> {
    /// Marks the wrapper as the process's allocator (called once at start
    /// by whoever installs it).
    pub fn installed(&self) {
        INSTALLED.store(true, Ordering::Relaxed);
    }
}

/// Runs `build` and returns what it returned and the bytes it left
/// allocated on this thread (`None` when the process does not allocate
/// through [`Counting`]). `build` must not await or move work to other
/// threads: decoding is synchronous.
pub fn measure<T>(build: impl FnOnce() -> T) -> (T, Option<usize>) {
    if !INSTALLED.load(Ordering::Relaxed) {
        return (build(), None);
    }
    let outer = RETAINED.with(|retained| retained.replace(Some(0)));
    let value = build();
    let retained = RETAINED
        .with(|retained| retained.replace(outer))
        .unwrap_or(0);
    // A measurement inside another adds to it.
    if let Some(outer) = outer {
        RETAINED.with(|slot| slot.set(Some(outer + retained)));
    }
    (value, Some(retained.max(0) as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_the_counting_allocator_nothing_is_measured() {
        // Unit tests run on the system allocator, not `Counting`.
        if !INSTALLED.load(Ordering::Relaxed) {
            assert_eq!(measure(|| vec![0u8; 100]).1, None);
        }
    }
}
