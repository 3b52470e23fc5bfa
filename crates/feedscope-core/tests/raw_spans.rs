//! Where each item came from in the body (`Parser::push_spanned`) and the raw log built on it,
//! over arbitrary bytes split into reads anywhere: the same spans whatever the split, an event's
//! span parses back to the same event, and the raw log's lines give back the exact bytes.

use feedscope_core::raw::{Raw, RawChunk, RawLog, RecordSpan, Row};
use feedscope_core::sse::{parse_all, Item, Limits, Parser, Span};
use feedscope_testkit::sse_bytes;
use proptest::prelude::*;

fn cuts_of(input: &[u8], cuts: &[usize]) -> Vec<usize> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    cuts.sort_unstable();
    cuts.push(input.len());
    cuts
}

/// Items with their spans, the input pushed in reads ending at `cuts`; and the body offset the
/// parser reached.
fn spanned(input: &[u8], cuts: &[usize], limits: Limits) -> (Vec<(Item, Span)>, u64) {
    let mut p = Parser::new(limits);
    let mut out = Vec::new();
    let mut start = 0;
    for c in cuts_of(input, cuts) {
        p.push_spanned(&input[start..c], &mut |i, s| out.push((i, s)));
        start = c;
    }
    let reached = p.body_offset();
    p.end_of_body();
    (out, reached)
}

/// The bytes of `span`, parsed alone. A block that is not at the start of the body gets a blank
/// line first, so its own first bytes are never taken for the body's BOM.
fn parse_span(input: &[u8], span: Span) -> Vec<Item> {
    let bytes = &input[span.start as usize..span.end as usize];
    let alone = if span.start == 0 { bytes.to_vec() } else { [b"\n", bytes].concat() };
    parse_all(&alone, Limits::default()).0
}

/// What the raw log's rows give back: each line's bytes and its line end, in order.
fn raw_bytes(log: &RawLog) -> Vec<u8> {
    let mut out = Vec::new();
    for row in log.page(0, usize::MAX) {
        if let Row::Line(l) = row {
            out.extend_from_slice(&l.bytes);
            out.extend_from_slice(match l.end {
                feedscope_core::raw::LineEnd::None => b"",
                feedscope_core::raw::LineEnd::Lf => b"\n",
                feedscope_core::raw::LineEnd::Cr => b"\r",
                feedscope_core::raw::LineEnd::CrLf => b"\r\n",
            });
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_split_into_reads_yields_the_same_spans(input in sse_bytes(), cuts in proptest::collection::vec(any::<usize>(), 0..12)) {
        let (whole, reached) = spanned(&input, &[], Limits::default());
        prop_assert_eq!(reached, input.len() as u64);
        prop_assert_eq!(spanned(&input, &cuts, Limits::default()), (whole, reached));
    }

    #[test]
    fn byte_at_a_time_yields_the_same_spans(input in sse_bytes()) {
        let cuts: Vec<usize> = (0..input.len()).collect();
        prop_assert_eq!(spanned(&input, &cuts, Limits::default()), spanned(&input, &[], Limits::default()));
    }

    #[test]
    fn spans_under_tight_limits_do_not_depend_on_the_split(input in sse_bytes(), cuts in proptest::collection::vec(any::<usize>(), 0..12)) {
        let limits = Limits { max_line_bytes: 8, max_event_bytes: 12 };
        prop_assert_eq!(spanned(&input, &cuts, limits), spanned(&input, &[], limits));
    }

    #[test]
    fn spans_follow_the_body_in_order_and_stay_inside_it(input in sse_bytes()) {
        let (items, _) = spanned(&input, &[], Limits::default());
        let mut last_end = 0;
        for (item, span) in &items {
            prop_assert!(span.start <= span.end && span.end <= input.len() as u64, "{:?}", span);
            prop_assert!(span.end >= last_end, "{:?} after {}", span, last_end);
            last_end = span.end;
            if !matches!(item, Item::TooLarge { .. }) {
                prop_assert!(span.end > span.start);
                // Every span ends just past a CR or LF.
                prop_assert!(matches!(input[span.end as usize - 1], b'\n' | b'\r'));
            }
        }
    }

    #[test]
    fn an_events_span_parses_back_to_the_same_event(input in sse_bytes()) {
        let (items, _) = spanned(&input, &[], Limits::default());
        for (item, span) in items {
            match item {
                Item::Event { event_type, data, .. } => {
                    // The id may come from an earlier block: compare type and data.
                    let again: Vec<_> = parse_span(&input, span).into_iter().filter_map(|i| match i {
                        Item::Event { event_type, data, .. } => Some((event_type, data)),
                        _ => None,
                    }).collect();
                    prop_assert_eq!(again, vec![(event_type, data)]);
                }
                Item::Comment(text) => {
                    prop_assert_eq!(parse_span(&input, span), vec![Item::Comment(text)]);
                }
                Item::Retry(ms) => {
                    prop_assert_eq!(parse_span(&input, span), vec![Item::Retry(ms)]);
                }
                Item::TooLarge { .. } => {}
            }
        }
    }

    #[test]
    fn the_raw_log_gives_back_the_exact_bytes_whatever_the_reads(input in sse_bytes(), cuts in proptest::collection::vec(any::<usize>(), 0..12)) {
        let mut log = RawLog::new(1);
        let mut p = Parser::default();
        let mut start = 0;
        let mut next = 0u64;
        for c in cuts_of(&input, &cuts) {
            let read = &input[start..c];
            start = c;
            let offset = p.body_offset();
            let mut spans = Vec::new();
            let mut n = 0;
            p.push_spanned(read, &mut |item, span| {
                if !matches!(item, Item::TooLarge { .. }) {
                    spans.push(RecordSpan { record: n, seq: matches!(item, Item::Event { .. }).then_some(next + n as u64), span });
                }
                n += 1;
            });
            log.take(Raw::Chunk(RawChunk { offset, bytes: bytes::Bytes::copy_from_slice(read), spans }), next, n);
            next += n as u64;
        }
        prop_assert_eq!(raw_bytes(&log), input.clone());
        // Each record's rows are lines that map back to it (or, for an event, to a comment or
        // retry line inside its block).
        for index in 0..next {
            if let Some(rows) = log.locate(index) {
                let page = log.page(rows.start, rows.len());
                prop_assert!(page.iter().all(|r| matches!(r, Row::Line(_))));
                let mine = page.iter().filter(|r| matches!(r, Row::Line(l) if l.record.map(|r| r.index) == Some(index))).count();
                prop_assert!(mine >= 1, "record {} has none of its rows {:?}", index, rows);
            }
        }
    }
}
