//! Inputs shared by the benchmarks: demo-style events of about 100 bytes.

use feedscope_core::sse::encode_event;

/// `n` events (`event: tick`, `id: N`, one line of JSON-ish data) as a `text/event-stream` body,
/// and the total data bytes in them.
pub fn small_events(n: usize) -> (Vec<u8>, usize) {
    let mut out = String::with_capacity(n * 104);
    let mut data_bytes = 0;
    for i in 1..=n {
        let cents = 10_000 + (i * 7919) % 2000;
        let data = format!(
            r#"{{"seq":{i},"symbol":"FSC","price":{}.{:02},"change":-0.{:02},"src":"demo"}}"#,
            cents / 100,
            cents % 100,
            i % 100
        );
        data_bytes += data.len();
        encode_event(&mut out, "tick", Some(&i.to_string()), &data);
    }
    (out.into_bytes(), data_bytes)
}
