//! The Noise responder against wacore's own initiator state machines: IK accepted with the published key,
//! XXfallback when the client's cached key is not ours.

use futures::{SinkExt as _, StreamExt as _};
use tokio_tungstenite::tungstenite::Message;
use wacore::framing::{FrameDecoder, encode_frame};
use wacore::libsignal::protocol::KeyPair;
use wacore::noise::{
    IkHandshakeState, IkServerHelloOutcome, NoiseCipher, XxFallbackHandshakeState,
};
use wacore_binary::consts::WA_CONN_HEADER;
use waproto::buffa::Message as _;
use waproto::whatsapp as wa;

use crate::common::start_fake;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_frame(ws: &mut Ws, dec: &mut FrameDecoder) -> Vec<u8> {
    loop {
        if let Some(f) = dec.decode_frame() {
            return f.to_vec();
        }
        match ws.next().await.expect("socket open").expect("ws message") {
            Message::Binary(b) => dec.feed(&b),
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Runs an IK attempt that assumes `server_static`; returns the pattern used and the first stanza.
async fn ik_login(
    fake: &fakewa::FakeWa,
    server_static: [u8; 32],
) -> (&'static str, wacore_binary::Node) {
    let (mut ws, _) = tokio_tungstenite::connect_async(fake.ws_url())
        .await
        .expect("connect");
    let payload = wa::ClientPayload {
        username: Some(19990000000),
        device: Some(7),
        passive: Some(false),
        pull: Some(true),
        ..Default::default()
    }
    .encode_to_vec();
    let static_kp = KeyPair::generate(&mut rand::rng());
    let mut ik = IkHandshakeState::new(static_kp, server_static, payload, &WA_CONN_HEADER)
        .expect("ik state");
    let hello = ik.build_client_hello().expect("hello");
    let mut first = WA_CONN_HEADER.to_vec();
    first.extend(encode_frame(&hello, None).expect("frame"));
    ws.send(Message::Binary(first.into()))
        .await
        .expect("send hello");
    let mut dec = FrameDecoder::new();
    let server_hello = next_frame(&mut ws, &mut dec).await;
    let (pattern, _write, read): (&str, NoiseCipher, NoiseCipher) =
        match ik.read_server_hello(&server_hello).expect("server hello") {
            IkServerHelloOutcome::Continue(o) => ("IK", o.write_cipher, o.read_cipher),
            IkServerHelloOutcome::Fallback(inputs) => {
                let mut fb = XxFallbackHandshakeState::from_ik_failure(*inputs, &WA_CONN_HEADER)
                    .expect("fallback");
                let finish = fb.build_client_finish().expect("finish");
                ws.send(Message::Binary(
                    encode_frame(&finish, None).expect("frame").into(),
                ))
                .await
                .expect("send finish");
                let o = fb.finish().expect("fallback outcome");
                ("XXfallback", o.write_cipher, o.read_cipher)
            }
        };
    let mut sealed = next_frame(&mut ws, &mut dec).await;
    read.decrypt_in_place_with_counter(0, &mut sealed)
        .expect("server frame decrypts");
    let plain = wacore_binary::util::unpack(&sealed)
        .expect("unpack")
        .to_vec();
    let node = wacore_binary::marshal::unmarshal_ref(&plain)
        .expect("node")
        .to_owned();
    (pattern, node)
}

fn leaf_key(chain: &[u8]) -> [u8; 32] {
    let chain = wa::CertChain::decode_from_slice(chain).expect("chain");
    let leaf = chain.leaf.into_option().expect("leaf");
    let d =
        wa::cert_chain::noise_certificate::Details::decode_from_slice(&leaf.details.expect("d"))
            .expect("details");
    d.key.expect("key").try_into().expect("32 bytes")
}

#[tokio::test]
async fn ik_with_our_key_and_xxfallback_with_another() {
    let fake = start_fake().await;
    let (pattern, node) = ik_login(&fake, leaf_key(&fake.cert_chain())).await;
    assert_eq!(pattern, "IK");
    assert_eq!(node.tag, "failure", "an unknown account is refused");
    assert_eq!(
        node.attrs
            .get("reason")
            .map(|v| v.as_str().into_owned())
            .as_deref(),
        Some("401")
    );

    let stranger = KeyPair::generate(&mut rand::rng());
    let stranger: [u8; 32] = stranger
        .public_key
        .public_key_bytes()
        .try_into()
        .expect("32");
    let (pattern, node) = ik_login(&fake, stranger).await;
    assert_eq!(pattern, "XXfallback");
    assert_eq!(node.tag, "failure");
    fake.shutdown().await;
}
