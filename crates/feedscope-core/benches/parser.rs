//! Parser throughput: `feedscope_core::sse::Parser` on demo-style small events, 1 MiB events and
//! a 64 MiB line, with `eventsource-stream` on the same bytes and the same reads as the reference.
//!
//! `cargo bench -p feedscope-core --bench parser`; figures and their reading in docs/PERFORMANCE.md.
//! Under `cargo test --benches` (criterion's test mode) the inputs shrink so each case runs once, quickly.

use std::convert::Infallible;
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, SamplingMode, Throughput};
use eventsource_stream::Eventsource;
use feedscope_core::sse::{encode_event, Item, Limits, Parser};
use futures::StreamExt;

/// What a socket read typically hands the parser.
const READ: usize = 16 << 10;

/// Input sizes: full ones under `cargo bench`, small ones when criterion only checks that each
/// benchmark runs (`cargo test --benches`, or `cargo bench -- --test`).
struct Sizes {
    small_events: usize,
    big_events: usize,
    big_event_bytes: usize,
    huge_line_bytes: usize,
}

impl Sizes {
    fn get() -> Sizes {
        // The same rule criterion uses to choose between measuring and test mode.
        let args: Vec<String> = std::env::args().collect();
        let measuring = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test");
        if measuring {
            Sizes { small_events: 10_000, big_events: 8, big_event_bytes: 1 << 20, huge_line_bytes: 64 << 20 }
        } else {
            Sizes { small_events: 500, big_events: 2, big_event_bytes: 64 << 10, huge_line_bytes: 1 << 20 }
        }
    }
}

/// `n` demo-style events of about 100 bytes: `id: N`, `event: tick`, one line of JSON-ish data.
fn small_events(n: usize) -> Vec<u8> {
    let mut out = String::with_capacity(n * 104);
    for i in 1..=n {
        let cents = 10_000 + (i * 7919) % 2000;
        let data = format!(
            r#"{{"seq":{i},"symbol":"FSC","price":{}.{:02},"change":-0.{:02},"src":"demo"}}"#,
            cents / 100,
            cents % 100,
            i % 100
        );
        encode_event(&mut out, "tick", Some(&i.to_string()), &data);
    }
    out.into_bytes()
}

/// `n` events of `size` data bytes each, as one `data:` line per event.
fn big_events_one_line(n: usize, size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * (size + 16));
    for i in 0..n {
        out.extend_from_slice(b"data: ");
        out.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, size));
        out.extend_from_slice(b"\n\n");
    }
    out
}

/// `n` events of about `size` data bytes each, as 1 KiB `data:` lines.
fn big_events_many_lines(n: usize, size: usize) -> Vec<u8> {
    let line = format!("data: {}\n", "b".repeat(1023));
    let mut out = Vec::with_capacity(n * (size + size / 128));
    for _ in 0..n {
        for _ in 0..size / 1024 {
            out.extend_from_slice(line.as_bytes());
        }
        out.push(b'\n');
    }
    out
}

/// One `data:` line of `size` bytes, then the blank line that dispatches it.
fn huge_line(size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + 8);
    out.extend_from_slice(b"data: ");
    out.resize(size, b'x');
    out.extend_from_slice(b"\n\n");
    out
}

/// Events dispatched and data bytes they carried: both parsers must agree on these.
type Tally = (usize, usize);

fn feedscope(input: &[u8], read: usize, limits: Limits) -> Tally {
    let mut parser = Parser::new(limits);
    let mut tally = (0, 0);
    let mut sink = |item: Item| {
        if let Item::Event { data, .. } = item {
            tally.0 += 1;
            tally.1 += data.len();
            black_box(data);
        }
    };
    for chunk in input.chunks(read) {
        parser.feed(black_box(chunk), &mut sink);
    }
    parser.end_of_body();
    tally
}

/// The same input through `eventsource-stream`, fed the same reads (slices: it copies them into
/// its own buffer anyway, so prebuilt `Bytes` would cost it nothing less).
fn eventsource_stream(input: &[u8], read: usize) -> Tally {
    let chunks = futures::stream::iter(input.chunks(read).map(|c| Ok::<_, Infallible>(black_box(c))));
    futures::executor::block_on(chunks.eventsource().fold((0, 0), |(n, bytes), ev| {
        let ev = ev.expect("eventsource-stream parses the fixture");
        let len = ev.data.len();
        black_box(ev);
        async move { (n + 1, bytes + len) }
    }))
}

fn configure(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>, events: usize, bytes: usize) {
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::ElementsAndBytes { elements: events as u64, bytes: bytes as u64 });
}

/// Both parsers on `input` in 16 KiB reads, after checking that they agree on what it holds.
fn against_reference(c: &mut Criterion, name: &str, input: &[u8], expected_events: usize, flat: bool) {
    let ours = feedscope(input, READ, Limits::default());
    assert_eq!(ours.0, expected_events, "{name}: feedscope parser");
    assert_eq!(eventsource_stream(input, READ), ours, "{name}: eventsource-stream disagrees");
    let mut group = c.benchmark_group(name);
    configure(&mut group, expected_events, input.len());
    if flat {
        group.sampling_mode(SamplingMode::Flat);
    }
    group.bench_function("feedscope", |b| b.iter(|| feedscope(black_box(input), READ, Limits::default())));
    group.bench_function("eventsource-stream", |b| b.iter(|| eventsource_stream(black_box(input), READ)));
    group.finish();
}

fn small(c: &mut Criterion) {
    let sizes = Sizes::get();
    let input = small_events(sizes.small_events);
    against_reference(c, "parse_100B_events", &input, sizes.small_events, false);
}

fn big(c: &mut Criterion) {
    let sizes = Sizes::get();
    let one_line = big_events_one_line(sizes.big_events, sizes.big_event_bytes);
    against_reference(c, "parse_1MiB_events_one_line", &one_line, sizes.big_events, true);
    let many_lines = big_events_many_lines(sizes.big_events, sizes.big_event_bytes);
    against_reference(c, "parse_1MiB_events_1KiB_lines", &many_lines, sizes.big_events, true);
}

/// One line far longer than any read: the cost must stay linear, the same in 16 KiB reads as in one.
fn huge(c: &mut Criterion) {
    let sizes = Sizes::get();
    let input = huge_line(sizes.huge_line_bytes);
    let limits = Limits { max_line_bytes: 128 << 20, max_event_bytes: 128 << 20 };
    for read in [READ, input.len()] {
        assert_eq!(feedscope(&input, read, limits), (1, sizes.huge_line_bytes - 6));
    }
    let mut group = c.benchmark_group("parse_64MiB_line");
    configure(&mut group, 1, input.len());
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("16KiB_reads", |b| b.iter(|| feedscope(black_box(&input), READ, limits)));
    group.bench_function("one_read", |b| b.iter(|| feedscope(black_box(&input), input.len(), limits)));
    group.finish();
}

criterion_group!(benches, small, big, huge);
criterion_main!(benches);
