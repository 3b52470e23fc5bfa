//! Assembled text of LLM streams (being written).
