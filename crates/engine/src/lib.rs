//! The haplog input engine.
//!
//! Reads files and standard input (memory-mapped when they are regular files,
//! block by block otherwise, `.gz` and `.zst` decoded transparently), cuts
//! them into chunks of whole lines (or follows a growing file across
//! rotations), and folds the chunks on worker threads:
//! each worker keeps its own state, the caller merges the states, and
//! anything order-sensitive comes back in input order.

mod chunk;
mod follow;
mod guard;
mod input;
mod parallel;

pub use chunk::{first_long_line, Chunk, ChunkConfig, Chunker, LateErrors};
pub use follow::{FollowConfig, FollowStats, Follower};
pub use input::{order_rotated, Compression, InputError, InputSpec};
pub use parallel::{default_threads, run_ordered};
