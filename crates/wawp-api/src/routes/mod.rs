//! The routes. Each folder is one section of the Wawp documents (`/v2/<folder>/…`), its `mod.rs`
//! the route table with the methods as the spec lists them and the `realPath` alias beside the
//! path; each URL leaf is one file (STYLE.md §2.2a). [`pending`] lists what is not served yet.

pub mod admin;
pub mod auth;
pub mod calls;
pub mod chats;
pub mod contacts;
pub mod events;
pub mod files;
pub mod media;
pub mod messages;
pub mod pending;
pub mod send;
pub mod session;
pub mod webhooks;

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, on};

use crate::state::AppState;

/// A route table that also remembers what it routes, so that tests and `/v2/pending-routes` can
/// compare it with the spec without introspecting axum.
pub struct Table {
    pub(crate) router: Router<AppState>,
    pub(crate) ops: Vec<(Method, &'static str)>,
}

impl Default for Table {
    fn default() -> Self {
        Table {
            router: Router::new(),
            ops: Vec::new(),
        }
    }
}

impl Table {
    pub fn new() -> Self {
        Table::default()
    }

    /// Serves `handler` at `path` (and at `alias`, the spec's `realPath`) for every method listed.
    /// axum allows one parameter name per position, so where the spec names a segment two ways
    /// (`/v2/labels/{id}` and `/v2/labels/{labelId}`) use one name in both tables; the spec test
    /// compares paths with parameter names erased.
    pub fn route<H, T>(
        mut self,
        methods: &[Method],
        path: &'static str,
        alias: Option<&'static str>,
        handler: H,
    ) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = methods
            .iter()
            .filter_map(|m| MethodFilter::try_from(m.clone()).ok())
            .reduce(MethodFilter::or);
        let Some(filter) = filter else { return self };
        let method_router = on(filter, handler);
        for p in std::iter::once(path).chain(alias) {
            self.router = self.router.route(p, method_router.clone());
            self.ops.extend(methods.iter().map(|m| (m.clone(), p)));
        }
        self
    }

    pub fn merge(mut self, other: Table) -> Self {
        self.router = self.router.merge(other.router);
        self.ops.extend(other.ops);
        self
    }
}

/// Routes wawp serves beyond the Wawp API documents (webhook management and the live event
/// stream of issue 5), as `(method, path)`. The spec-coverage test accepts exactly these.
pub const EXTENSIONS: &[(&str, &str)] = &[
    ("GET", "/v2/webhooks"),
    ("PUT", "/v2/webhooks"),
    ("GET", "/v2/webhooks/deliveries"),
    ("POST", "/v2/webhooks/replay"),
    ("GET", "/v2/events"),
    ("GET", "/v2/files/{name}"),
];

/// Every implemented route of the Wawp API (`/v2/…`).
pub(crate) fn v2() -> Table {
    Table::new()
        .merge(session::table())
        .merge(auth::table())
        .merge(send::table())
        .merge(chats::table())
        .merge(contacts::table())
        .merge(messages::table())
        .merge(webhooks::table())
        .merge(events::table())
        .merge(media::table())
        .merge(files::table())
        .merge(calls::table())
}
