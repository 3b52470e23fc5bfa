//! The window's TypeScript types, generated from the Rust types it receives and sends (ts-rs):
//! `ui/src/lib/ipc.generated.ts` is this module's output, checked in, and a test fails when it is
//! stale. Regenerate with `FEEDSCOPE_UPDATE_IPC=1 cargo test -p feedscope-desktop ipc`.

use ts_rs::TS;

/// The declarations, in a stable order, as one TypeScript module.
pub fn typescript() -> String {
    let decls = [
        // The engine's types.
        feedscope_core::Mode::decl(),
        feedscope_core::Transport::decl(),
        feedscope_core::Header::decl(),
        feedscope_core::alerts::AlertRule::decl(),
        feedscope_core::FeedConfig::decl(),
        feedscope_core::FeedInfo::decl(),
        feedscope_core::ConnState::decl(),
        feedscope_core::FeedStats::decl(),
        feedscope_core::feed::Counts::decl(),
        feedscope_core::Query::decl(),
        feedscope_core::ExportFormat::decl(),
        feedscope_core::Kind::decl(),
        feedscope_core::RawStats::decl(),
        feedscope_core::raw::LineEnd::decl(),
        feedscope_core::Severity::decl(),
        feedscope_core::Code::decl(),
        feedscope_core::Finding::decl(),
        feedscope_core::activity::ActivityWindow::decl(),
        feedscope_core::activity::TypeSeries::decl(),
        // The app's.
        crate::state::FeedForm::decl(),
        crate::state::AppError::decl(),
        crate::rows::Row::decl(),
        crate::rows::RecordDetail::decl(),
        crate::rows::Shown::decl(),
        crate::rows::FieldEntry::decl(),
        crate::diff::DiffLine::decl(),
        crate::sorted::Sort::decl(),
        feedscope_core::jsonrpc::RpcKind::decl(),
        feedscope_core::jsonrpc::RpcColumns::decl(),
        crate::assembled::AssembledView::decl(),
        feedscope_core::compare::CompareReport::decl(),
        feedscope_core::compare::TransportReport::decl(),
        feedscope_core::compare::Latency::decl(),
        feedscope_core::assemble::Assembled::decl(),
        feedscope_core::assemble::ToolCall::decl(),
        crate::bridge::StatsShown::decl(),
        crate::bridge::TypeCount::decl(),
        crate::bridge::FeedChange::decl(),
        crate::bridge::LiveUpdate::decl(),
        crate::api::RowPage::decl(),
        crate::api::InitInfo::decl(),
        crate::api::ExportDone::decl(),
        crate::api::Inspection::decl(),
        crate::raw::RawRow::decl(),
        crate::raw::LineClass::decl(),
        crate::raw::RawPage::decl(),
        crate::raw::RawRange::decl(),
        crate::raw::RawExportDone::decl(),
        crate::collection::CollectionExportDone::decl(),
        crate::collection::CollectionImportDone::decl(),
    ];
    let mut out = String::from(
        "// Generated from the Rust types by crates/feedscope-desktop/src/ipc.rs: do not edit.\n\
         // Regenerate: FEEDSCOPE_UPDATE_IPC=1 cargo test -p feedscope-desktop ipc\n",
    );
    for d in decls {
        out.push_str("\nexport ");
        // serde_json writes every integer as a JSON number, and the window reads numbers: counts
        // and indexes stay exact up to 2^53, far beyond what a history holds.
        out.push_str(&d.replace("bigint", "number"));
        out.push('\n');
    }
    out
}

/// Where the generated module lives in the UI.
pub fn generated_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/lib/ipc.generated.ts")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipc_types_in_the_ui_are_generated_from_these() {
        let want = typescript();
        let path = generated_path();
        if std::env::var_os("FEEDSCOPE_UPDATE_IPC").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{} is stale: run FEEDSCOPE_UPDATE_IPC=1 cargo test -p feedscope-desktop ipc, and commit it",
            path.display()
        );
    }
}
