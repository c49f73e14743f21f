use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use serde_json::Value;
use tempfile::TempDir;
use tower::ServiceExt;
use wawp_api::{ApiConfig, AppState, app};
use wawp_core::config::LimitsConfig;
use wawp_core::{Core, CoreConfig};

pub struct TestApp {
    pub state: AppState,
    _dir: TempDir,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestApp {
    pub async fn new() -> TestApp {
        TestApp::with_config(ApiConfig::default()).await
    }

    pub async fn with_config(config: ApiConfig) -> TestApp {
        TestApp::build(config, LimitsConfig::default()).await
    }

    pub async fn with_limits(limits: LimitsConfig) -> TestApp {
        TestApp::build(ApiConfig::default(), limits).await
    }

    pub async fn build(config: ApiConfig, limits: LimitsConfig) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = wawp_store::Store::open_in_dir(dir.path())
            .await
            .expect("store");
        let mut core_config = CoreConfig {
            data_dir: dir.path().to_path_buf(),
            limits,
            ..Default::default()
        };
        // Nothing listens there: sessions fail to connect at once instead of trying the real network.
        core_config.whatsapp.url = "ws://127.0.0.1:9/ws/chat".into();
        let core = Core::open(core_config, store).await.expect("core");
        TestApp {
            state: AppState::new(core, config),
            _dir: dir,
        }
    }

    /// A fresh access token (the secret).
    pub async fn token(&self, max_instances: Option<u32>) -> String {
        self.state
            .core
            .tenancy()
            .create_token("test", max_instances)
            .await
            .expect("token")
            .1
    }

    /// `method uri` with a Bearer token and a JSON body.
    pub async fn call(&self, method: &str, uri: &str, token: &str, body: &str) -> Answer {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .expect("request");
        self.send(req).await
    }

    /// Creates an instance for `token`; its id.
    pub async fn instance(&self, token: &str) -> String {
        let res = self.call("POST", "/v2/session/create", token, "{}").await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
        res.json()["instance_id"]
            .as_str()
            .expect("instance_id")
            .to_string()
    }

    pub fn router(&self) -> Router {
        app(self.state.clone())
    }

    pub async fn send(&self, req: Request<Body>) -> Answer {
        let res = self.router().oneshot(req).await.expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .expect("body")
            .to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, uri: &str) -> Answer {
        self.send(Request::get(uri).body(Body::empty()).expect("request"))
            .await
    }
}

pub fn post_json(uri: &str, body: &str) -> Request<Body> {
    Request::post(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("request")
}

pub fn post_form(uri: &str, body: &str) -> Request<Body> {
    Request::post(uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body.to_string()))
        .expect("request")
}
