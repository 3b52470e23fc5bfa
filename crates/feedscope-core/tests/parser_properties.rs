//! Properties of the parser over arbitrary bytes: any split into reads gives the same items,
//! and on inputs where `eventsource-stream` is correct, both agree.

use feedscope_testkit::sse_bytes;
use std::sync::Arc;

use feedscope_core::sse::{parse_all, Item, Limits, Parser};
use futures::StreamExt;
use proptest::prelude::*;

fn parse_in_reads(input: &[u8], cuts: &[usize], limits: Limits) -> (Vec<Item>, Arc<str>) {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    cuts.sort_unstable();
    let mut p = Parser::new(limits);
    let mut out = Vec::new();
    let mut start = 0;
    for c in cuts.into_iter().chain([input.len()]) {
        p.push(&input[start..c], &mut |i| out.push(i));
        start = c;
    }
    p.end_of_body();
    (out, p.last_event_id().clone())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_split_into_reads_yields_the_same_items(input in sse_bytes(), cuts in proptest::collection::vec(any::<usize>(), 0..12)) {
        let whole = parse_all(&input, Limits::default());
        prop_assert_eq!(parse_in_reads(&input, &cuts, Limits::default()), whole);
    }

    #[test]
    fn any_split_yields_the_same_items_under_tight_limits(input in sse_bytes(), cuts in proptest::collection::vec(any::<usize>(), 0..12)) {
        let limits = Limits { max_line_bytes: 8, max_event_bytes: 12 };
        let whole = parse_all(&input, limits);
        prop_assert_eq!(parse_in_reads(&input, &cuts, limits), whole);
    }

    #[test]
    fn byte_at_a_time_equals_one_read(input in sse_bytes()) {
        let cuts: Vec<usize> = (0..input.len()).collect();
        prop_assert_eq!(parse_in_reads(&input, &cuts, Limits::default()), parse_all(&input, Limits::default()));
    }
}

/// Inputs where `eventsource-stream` is known to be correct: no BOM, no lone CR, valid UTF-8,
/// every block terminated, no `retry` (it drops retry without data).
fn plain_stream() -> impl Strategy<Value = String> {
    let value = "[a-zA-Z0-9 {}\":,.é€]{0,12}";
    let field = prop_oneof![
        value.prop_map(|v| format!("data: {v}\n")),
        value.prop_map(|v| format!("data:{v}\n")),
        "[a-z]{1,6}".prop_map(|v| format!("event: {v}\n")),
        "[0-9]{1,4}".prop_map(|v| format!("id: {v}\n")),
        value.prop_map(|v| format!(":{v}\n")),
        Just("data\n".to_string()),
    ];
    let block = proptest::collection::vec(field, 1..5).prop_map(|f| f.concat() + "\n");
    proptest::collection::vec(block, 0..8).prop_map(|b| b.concat())
}

fn reference(input: &str, cuts: &[usize]) -> Vec<(String, String, String)> {
    use eventsource_stream::Eventsource;
    let bytes = input.as_bytes().to_vec();
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for c in cuts.into_iter().chain([bytes.len()]) {
        chunks.push(Ok::<_, std::convert::Infallible>(bytes[start..c].to_vec()));
        start = c;
    }
    let stream = futures::stream::iter(chunks).eventsource();
    let events: Vec<_> = futures::executor::block_on(stream.collect::<Vec<_>>());
    events.into_iter().filter_map(Result::ok).map(|e| (e.event, e.id, e.data)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn agrees_with_eventsource_stream_where_it_is_correct(input in plain_stream(), cuts in proptest::collection::vec(any::<usize>(), 0..6)) {
        let ours: Vec<_> = parse_all(input.as_bytes(), Limits::default()).0.into_iter().filter_map(|i| match i {
            Item::Event { event_type, id, data } => Some((event_type.to_string(), id.to_string(), data)),
            _ => None,
        }).collect();
        prop_assert_eq!(ours, reference(&input, &cuts));
    }
}
