//! fakewa's integration tests: real whatsapp-rust 0.7.0 clients against an in-process fakewa on loopback.

mod appstate;
mod certs;
mod common;
mod media;
mod noise;
mod pairing;
mod presence;
mod relay;
