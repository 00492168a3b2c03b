//! Keeps this library loaded for the life of the process.
//!
//! Lua `dlclose`s a C module when the state that loaded it closes, while
//! other threads may still run our code or hold our vtables (a thread's
//! state ending is enough). Once opened, the library re-opens itself with
//! RTLD_NODELETE, so it is never unmapped.

use std::sync::Once;

pub fn keep_loaded() {
    static PINNED: Once = Once::new();
    PINNED.call_once(|| {
        // dladdr only reads the address of one of our own functions and fills
        // `info`; the returned file name is the one the loader used.
        // SAFETY: valid pointers to our own function and a local Dl_info.
        unsafe {
            let mut info: libc::Dl_info = std::mem::zeroed();
            // A function that is not exported: an exported one may resolve to
            // a copy in the executable (an interpreter linking this crate).
            let addr = keep_loaded as *const libc::c_void;
            if libc::dladdr(addr, &mut info) != 0 && !info.dli_fname.is_null() {
                // RTLD_NOLOAD: only take a reference on the copy already loaded.
                // The handle is deliberately leaked.
                libc::dlopen(info.dli_fname, libc::RTLD_NOW | libc::RTLD_NODELETE | libc::RTLD_NOLOAD);
            }
        }
    });
}
