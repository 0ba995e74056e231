//! Lazily loaded parts of the page: code the first screen does not need, fetched as a
//! WebAssembly file of its own when first called (or when the page is idle), so that
//! the first chunk stays small. A function marked
//! `#[wasm_split(part, wasm_split_path = crate::parts)]` becomes an `async` function that
//! loads its part first; the release build (`cargo leptos build --split`) moves it and
//! the code only it reaches into `split_<part>.wasm`.
//!
//! This is the macro's runtime, kept small: one state per part and the tasks waiting
//! for it, no locks (the page has one thread). A load that fails is not remembered: the
//! next call tries again.

pub use leptos::wasm_split::wasm_split;

/// The part's file could not be fetched or instantiated.
#[derive(Debug, Clone, Copy)]
pub struct SplitLoaderError;

pub mod rt {
    use super::SplitLoaderError;
    use std::cell::{Cell, RefCell};
    use std::ffi::c_void;
    use std::future::poll_fn;
    use std::pin::Pin;
    use std::task::{Poll, Waker};

    pub type LoadCallbackFn = unsafe extern "C" fn(*const c_void, bool);
    pub type LoadFn = unsafe extern "C" fn(LoadCallbackFn, *const c_void);

    const IDLE: u8 = 0;
    const LOADING: u8 = 1;
    const LOADED: u8 = 2;
    const FAILED: u8 = 3;

    /// One part: how to load it, where its load stands, and who waits for it.
    pub struct LazySplitLoader {
        load: LoadFn,
        state: Cell<u8>,
        waiting: RefCell<Vec<Waker>>,
    }

    // SAFETY: the page runs on one thread; the loader is never touched from another.
    unsafe impl Sync for LazySplitLoader {}

    impl LazySplitLoader {
        /// # Safety
        /// `load` must call the callback exactly once per call, with the data it was given.
        pub const unsafe fn new(load: LoadFn) -> Self {
            LazySplitLoader { load, state: Cell::new(IDLE), waiting: RefCell::new(Vec::new()) }
        }
    }

    unsafe extern "C" fn loaded(data: *const c_void, ok: bool) {
        // SAFETY: `data` is the `&'static LazySplitLoader` that `ensure_loaded` passed.
        let loader = unsafe { &*data.cast::<LazySplitLoader>() };
        loader.state.set(if ok { LOADED } else { FAILED });
        for waker in loader.waiting.take() {
            waker.wake();
        }
    }

    /// Loads the part unless it is loaded or loading, and waits for it.
    pub async fn ensure_loaded(loader: Pin<&'static LazySplitLoader>) -> Result<(), SplitLoaderError> {
        let loader = loader.get_ref();
        if matches!(loader.state.get(), IDLE | FAILED) {
            loader.state.set(LOADING);
            // SAFETY: the contract of `LazySplitLoader::new`.
            unsafe { (loader.load)(loaded, (loader as *const LazySplitLoader).cast()) };
        }
        poll_fn(|cx| match loader.state.get() {
            LOADED => Poll::Ready(Ok(())),
            FAILED => Poll::Ready(Err(SplitLoaderError)),
            _ => {
                loader.waiting.borrow_mut().push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}
