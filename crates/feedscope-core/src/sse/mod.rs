//! The `text/event-stream` format: an incremental spec-exact parser and an encoder.
//! Everything here is synchronous and I/O-free, so it is tested and benchmarked on plain bytes.

mod encoder;
mod parser;

pub use encoder::{encode_comment, encode_event, encode_retry, RecordEncoder};
pub use parser::{classify_line, parse_all, Field, Item, Limits, LineKind, Oversize, Parser, Span};
