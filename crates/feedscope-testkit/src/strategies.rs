//! Property-test inputs shared by the parser's property tests.

use proptest::prelude::*;

/// Streams biased toward the bytes that matter to SSE: field names, colons, spaces, CR, LF, BOM,
/// NUL, a multi-byte character, invalid UTF-8, digits, and some random bytes.
pub fn sse_bytes() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(b"data".to_vec()),
        Just(b"data: ".to_vec()),
        Just(b"event:".to_vec()),
        Just(b"id: ".to_vec()),
        Just(b"retry: ".to_vec()),
        Just(b":".to_vec()),
        Just(b" ".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\xef\xbb\xbf".to_vec()),
        Just(b"\0".to_vec()),
        Just(b"\xe2\x82\xac".to_vec()),
        Just(b"\xff".to_vec()),
        Just(b"123".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..8),
    ];
    proptest::collection::vec(token, 0..40).prop_map(|v| v.concat())
}
