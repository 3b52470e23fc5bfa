//! A feed's table sorted by a column (an event's type, id, or a JSON field the user added): the
//! matching records' keys, sorted once and then kept up to date as records arrive and leave, so a
//! live feed's sorted table costs the new records only, not a sort of the whole history per page.

use std::sync::Arc;

use feedscope_core::query::{Field, FieldValue};
use feedscope_core::{Matcher, Query, Record};
use serde::Deserialize;
use ts_rs::TS;

/// How the window asks for a sorted table.
#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
pub struct Sort {
    /// A query-language name: `type`, `id`, `seq`, `kind`, `data` or `data.PATH`.
    pub column: String,
    pub descending: bool,
}

/// The sorted keys of one feed's matching records, for one filter and one sort.
pub struct SortedView {
    feed: String,
    filter: Query,
    sort: Sort,
    field: Field,
    /// (key, timeline index), in the sort's order; ties keep arrival order.
    entries: Vec<(FieldValue, u64)>,
    /// The first timeline index not looked at yet.
    next_index: u64,
}

impl SortedView {
    pub fn new(feed: &str, filter: &Query, sort: &Sort) -> Result<SortedView, String> {
        let field = Field::parse(&sort.column).map_err(|e| format!("sort column {:?}: {}", sort.column, e.message))?;
        Ok(SortedView {
            feed: feed.to_owned(),
            filter: filter.clone(),
            sort: sort.clone(),
            field,
            entries: Vec::new(),
            next_index: 0,
        })
    }

    /// Whether this view answers for `feed`, `filter` and `sort`.
    pub fn is_for(&self, feed: &str, filter: &Query, sort: &Sort) -> bool {
        self.feed == feed && &self.filter == filter && &self.sort == sort
    }

    /// Brings the view up to date with the feed's retained records: `records` yields them with
    /// their timeline indices, oldest first, `first_index` being the oldest retained. Evicted (or
    /// cleared) records leave; records not seen yet are keyed, sorted and merged in.
    pub fn refresh<'a>(
        &mut self,
        first_index: u64,
        records: impl Iterator<Item = (u64, &'a Arc<Record>)>,
        matcher: Option<&Matcher>,
    ) {
        if first_index > 0 {
            self.entries.retain(|(_, i)| *i >= first_index);
        }
        let from = self.next_index;
        let mut fresh = Vec::new();
        for (i, r) in records.skip_while(|(i, _)| *i < from) {
            self.next_index = i + 1;
            if matcher.is_none_or(|m| m.matches(r)) {
                fresh.push((self.field.value(r), i));
            }
        }
        if fresh.is_empty() {
            return;
        }
        let descending = self.sort.descending;
        let order = move |a: &(FieldValue, u64), b: &(FieldValue, u64)| {
            let by_key = a.0.sort_cmp(&b.0);
            (if descending { by_key.reverse() } else { by_key }).then(a.1.cmp(&b.1))
        };
        fresh.sort_by(order);
        if self.entries.is_empty() {
            self.entries = fresh;
            return;
        }
        // Merge: both runs are sorted.
        let old = std::mem::take(&mut self.entries);
        let mut merged = Vec::with_capacity(old.len() + fresh.len());
        let (mut a, mut b) = (old.into_iter().peekable(), fresh.into_iter().peekable());
        while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
            if order(x, y).is_le() {
                merged.push(a.next().expect("peeked"));
            } else {
                merged.push(b.next().expect("peeked"));
            }
        }
        merged.extend(a);
        merged.extend(b);
        self.entries = merged;
    }

    /// Matching records in all.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The timeline indices of the rows from `offset`, at most `limit`.
    pub fn page(&self, offset: usize, limit: usize) -> Vec<u64> {
        self.entries.iter().skip(offset).take(limit).map(|(_, i)| *i).collect()
    }

    /// Where the record at `index` is among the sorted rows.
    pub fn position(&self, index: u64) -> Option<usize> {
        self.entries.iter().position(|(_, i)| *i == index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use feedscope_core::{Body, Timestamp};

    fn event(seq: u64, data: &str) -> Arc<Record> {
        let body = Body::Event { seq, event_type: Arc::from("t"), id: Arc::from(""), data: data.into() };
        Arc::new(Record::new(Arc::from("f"), Timestamp(seq as i64), body))
    }

    fn keyed(view: &SortedView) -> Vec<u64> {
        view.page(0, usize::MAX)
    }

    #[test]
    fn sorts_numbers_as_numbers_keeps_arrival_order_on_ties_and_follows_the_history() {
        let sort = Sort { column: "data.p".into(), descending: false };
        let mut view = SortedView::new("f", &Query::default(), &sort).unwrap();
        let mut records: Vec<(u64, Arc<Record>)> = [r#"{"p":10}"#, r#"{"p":9}"#, "x", r#"{"p":"a"}"#, r#"{"p":9}"#]
            .iter()
            .enumerate()
            .map(|(i, d)| (i as u64, event(i as u64 + 1, d)))
            .collect();
        view.refresh(0, records.iter().map(|(i, r)| (*i, r)), None);
        // missing < numbers (9, 9 in arrival order, 10) < strings
        assert_eq!(keyed(&view), [2, 1, 4, 0, 3]);

        // Two more arrive, the two oldest are evicted.
        records.push((5, event(6, r#"{"p":-1}"#)));
        records.push((6, event(7, r#"{"p":100}"#)));
        records.drain(..2);
        view.refresh(2, records.iter().map(|(i, r)| (*i, r)), None);
        assert_eq!(keyed(&view), [2, 5, 4, 6, 3]);
        assert_eq!((view.len(), view.position(6), view.position(0)), (5, Some(3), None));
        assert_eq!(view.page(1, 2), [5, 4]);

        let down = Sort { descending: true, ..sort };
        let mut view = SortedView::new("f", &Query::default(), &down).unwrap();
        view.refresh(2, records.iter().map(|(i, r)| (*i, r)), None);
        assert_eq!(keyed(&view), [3, 6, 4, 5, 2]);
    }

    #[test]
    fn a_filter_narrows_and_a_bad_column_is_refused() {
        let filter = Query { query: true, text: "data.p > 5".into(), ..Query::default() };
        let matcher = filter.compile().unwrap();
        let sort = Sort { column: "data.p".into(), descending: true };
        let mut view = SortedView::new("f", &filter, &sort).unwrap();
        let records: Vec<(u64, Arc<Record>)> =
            (0..10u64).map(|i| (i, event(i + 1, &format!("{{\"p\":{i}}}")))).collect();
        view.refresh(0, records.iter().map(|(i, r)| (*i, r)), Some(&matcher));
        assert_eq!(keyed(&view), [9, 8, 7, 6]);
        assert!(view.is_for("f", &filter, &sort) && !view.is_for("g", &filter, &sort));
        let e = SortedView::new("f", &filter, &Sort { column: "data.".into(), descending: false }).err().unwrap();
        assert!(e.starts_with("sort column \"data.\":"), "{e}");
    }
}
