//! Collections of feeds (being moved here).
