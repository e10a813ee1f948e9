//! Mergeable aggregates for reports: each is folded per chunk on its own
//! thread and merged at the end; merging is associative and commutative, so
//! the result does not depend on how the input was cut or scheduled.

pub mod histogram;
pub mod keyed;
pub mod merge;
pub mod window;

pub use histogram::{Histogram, SparseHistogram};
pub use merge::{merge_all, Merge};
pub use window::Windowed;
pub mod filter;
pub mod request;
pub mod slices;
pub mod spec;
pub mod traffic;

pub use filter::Filter;
pub use request::{ReadOptions, Request};
pub use traffic::{Collector, Config, Group, TrafficStats};
