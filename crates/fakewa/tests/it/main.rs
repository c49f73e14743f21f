//! fakewa's integration tests: real whatsapp-rust 0.7.0 clients against an in-process fakewa on loopback.

mod appstate;
mod calls;
mod certs;
mod common;
mod media;
mod noise;
mod pairing;
mod pictures;
mod presence;
mod relay;
