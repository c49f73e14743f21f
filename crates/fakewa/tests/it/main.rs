//! fakewa's integration tests: real whatsapp-rust 0.7.0 clients against an in-process fakewa on loopback.

mod certs;
mod common;
mod pairing;
mod relay;
