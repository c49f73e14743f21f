//! End-to-end tests: the real wawp server on port 0, a real fakewa network on loopback, real HTTP.
//! One test binary, one module per API category (STYLE.md §2.2i).

mod support;

mod auth;
mod calls;
mod crash;
mod interactive;
mod media;
mod messaging;
mod pictures;
mod session;
mod signals;
mod tenancy;
mod webhooks;
