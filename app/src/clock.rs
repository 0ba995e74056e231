//! The clock, read the same way by the page's state and its strings: its own module so
//! that `locale` and `chat` both depend on it and not on each other.

/// The clock, in milliseconds since the Unix epoch.
pub fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    return js_sys::Date::now();
    #[cfg(not(feature = "hydrate"))]
    return std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_millis() as f64);
}
