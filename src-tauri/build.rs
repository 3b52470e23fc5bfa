fn main() {
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(&[
        "init",
        "add_feed",
        "update_feed",
        "duplicate_feed",
        "delete_feed",
        "connect_feed",
        "disconnect_feed",
        "reconnect_feed",
        "clear_feed",
        "query_events",
        "get_record",
        "assembled",
        "export_feed",
        "raw_page",
        "raw_locate",
        "record_position",
        "export_raw",
        "save_settings",
        "inspect_feed",
        "set_global_alerts",
        "import_curl",
        "export_collection",
        "import_collection",
    ])))
    .expect("tauri build script");
}
