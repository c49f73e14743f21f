//! Call signaling: a virtual phone's offer rings every device of the callee; answers reach the
//! caller and the callee's other devices; the phone records what happened to its calls.

use std::time::Duration;

use fakewa::{CallStatus, FakeWa};
use wacore::stanza::call::{AcceptParams, DEFAULT_AUDIO_RATES, build_accept};
use wacore::types::call::{CallAction, IncomingCall};
use wacore::types::events::Event;

use crate::common::{DEADLINE, TestClient, link_by_qr, start_fake};

const CALLER: &str = "15557770001";
const CALLEE: &str = "15557770002";

/// The callee's next `IncomingCall` whose action `pick` accepts.
async fn next_call(
    c: &mut TestClient,
    what: &str,
    pick: impl Fn(&CallAction) -> bool,
) -> IncomingCall {
    c.wait_for(what, |e| match e {
        Event::IncomingCall(call) if pick(&call.action) => Some(call.clone()),
        _ => None,
    })
    .await
}

/// Waits until the caller's phone shows `status` for `call_id`.
async fn phone_sees(fake: &FakeWa, call_id: &str, status: CallStatus) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let calls = fake.calls(CALLER).await.expect("calls");
        let now = calls
            .iter()
            .find(|c| c.call_id == call_id)
            .map(|c| c.status);
        if now == Some(status) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "call {call_id} is {now:?}, not {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn two_phones() -> FakeWa {
    let fake = start_fake().await;
    fake.create_phone(CALLER, "Caller").await.expect("caller");
    fake.create_phone(CALLEE, "Callee").await.expect("callee");
    fake
}

#[tokio::test]
async fn an_offer_rings_every_device_and_a_reject_reaches_the_caller_and_siblings() {
    let fake = two_phones().await;
    let mut first = link_by_qr(&fake, CALLEE).await;
    let mut second = link_by_qr(&fake, CALLEE).await;

    let call_id = fake.place_call(CALLER, CALLEE, true).await.expect("call");
    let is_offer = |a: &CallAction| matches!(a, CallAction::Offer { .. });
    let offer = next_call(&mut first, "the offer", is_offer).await;
    let on_second = next_call(&mut second, "the offer on the other device", is_offer).await;
    assert_eq!(offer.action.call_id(), call_id);
    assert_eq!(on_second.action.call_id(), call_id);
    assert_eq!(offer.from.user, CALLER);
    assert!(!offer.offline);
    assert_eq!(offer.notify.as_deref(), Some("Caller"));
    assert!(matches!(
        offer.action,
        CallAction::Offer { is_video: true, .. }
    ));

    first.client.voip().reject(&offer).await.expect("reject");
    phone_sees(&fake, &call_id, CallStatus::Rejected).await;
    let seen = next_call(&mut second, "the reject on the other device", |a| {
        matches!(a, CallAction::Reject { .. })
    })
    .await;
    assert_eq!(seen.action.call_id(), call_id);
    assert_eq!(seen.from.user, CALLEE, "from the answering device");
    fake.shutdown().await;
}

#[tokio::test]
async fn an_accept_then_a_hang_up_reach_the_caller() {
    let fake = two_phones().await;
    let mut callee = link_by_qr(&fake, CALLEE).await;
    let call_id = fake
        .place_call(CALLER, &format!("{CALLEE}@s.whatsapp.net"), false)
        .await
        .expect("call");
    let offer = next_call(&mut callee, "the offer", |a| {
        matches!(a, CallAction::Offer { .. })
    })
    .await;
    assert!(matches!(
        offer.action,
        CallAction::Offer {
            is_video: false,
            ..
        }
    ));

    // whatsapp-rust answers only with its media runtime; the signaling stanza is wacore's own.
    let accept = build_accept(&AcceptParams {
        call_id: &call_id,
        to: &offer.from,
        id: "ACCEPT1",
        call_creator: offer.action.call_creator(),
        audio_rates: DEFAULT_AUDIO_RATES,
        relay_te: None,
        rte: None,
        voip_settings: None,
        capability: None,
        video: false,
        peer_abtest_bucket: None,
        peer_abtest_bucket_id_list: None,
    });
    callee.client.send_node(accept).await.expect("accept");
    phone_sees(&fake, &call_id, CallStatus::Accepted).await;

    callee
        .client
        .voip()
        .terminate(&call_id, &offer.from, offer.action.call_creator())
        .await
        .expect("hang up");
    phone_sees(&fake, &call_id, CallStatus::Terminated).await;
    fake.shutdown().await;
}

#[tokio::test]
async fn the_admin_api_places_and_lists_calls() {
    let fake = two_phones().await;
    let mut callee = link_by_qr(&fake, CALLEE).await;
    let http = reqwest::Client::new();
    let base = format!("{}/admin/phones/{CALLER}", fake.admin_url());

    let placed: serde_json::Value = http
        .post(format!("{base}/call"))
        .json(&serde_json::json!({"to": CALLEE}))
        .send()
        .await
        .expect("call")
        .json()
        .await
        .expect("json");
    let call_id = placed["callId"].as_str().expect("callId").to_string();
    let offer = next_call(&mut callee, "the offer", |a| {
        matches!(a, CallAction::Offer { .. })
    })
    .await;
    assert_eq!(offer.action.call_id(), call_id);

    let calls: serde_json::Value = http
        .get(format!("{base}/calls"))
        .send()
        .await
        .expect("calls")
        .json()
        .await
        .expect("json");
    assert_eq!(
        calls,
        serde_json::json!([{"callId": call_id, "to": CALLEE, "video": false, "status": "offered"}])
    );
    let unknown = http
        .post(format!(
            "{}/admin/phones/19999999999/call",
            fake.admin_url()
        ))
        .json(&serde_json::json!({"to": CALLEE}))
        .send()
        .await
        .expect("call");
    assert_eq!(unknown.status(), 404);
    fake.shutdown().await;
}
