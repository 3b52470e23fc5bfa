//! JSON-RPC 2.0 messages in events (being written).
