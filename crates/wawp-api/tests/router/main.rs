//! Router-level tests: the whole `app(state)` over a real `Core` on a temp SQLite store, driven
//! with `oneshot` (no socket, no WhatsApp). One test binary, one module per concern.

mod support;

mod calls;
mod contract;
mod negotiation;
mod server;
mod sessions;
mod spec_coverage;
mod tokens;
