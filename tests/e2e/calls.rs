//! Calls: a contact's call rings as `call.received`; `/v2/calls/reject` declines it (the caller's
//! phone sees it rejected) and emits `call.rejected`, as does a decline on another device of the
//! account.

use fakewa::CallStatus;
use serde_json::Value;

use crate::signals::sibling;
use crate::support::{TestEnv, eventually};

const EVENTS: &[&str] = &["call.received", "call.accepted", "call.rejected"];

/// Waits until `caller`'s phone shows `status` for `call_id`.
async fn caller_sees(env: &TestEnv, caller: &str, call_id: &str, status: CallStatus) {
    eventually(&format!("call {call_id} to be {status:?}"), || async {
        let calls = env.fakewa.calls(caller).await.ok()?;
        calls
            .into_iter()
            .find(|c| c.call_id == call_id && c.status == status)
    })
    .await;
}

async fn reject(env: &TestEnv, id: &str, call_id: &str, from: &str) -> crate::support::Resp {
    env.call(
        "POST",
        "/v2/calls/reject",
        &[("instance_id", id), ("callId", call_id), ("from", from)],
    )
    .await
}

#[tokio::test]
async fn a_call_rings_as_call_received_and_reject_declines_it() {
    let env = TestEnv::start().await;
    let me = env.phone("12015550801", "Callee").await;
    let ann = env.phone("12015550802", "Ann").await;
    let id = env.linked_instance(&me).await;
    let hook = env.subscribe(&id, EVENTS).await;
    let from = format!("{ann}@c.us");

    let call_id = env
        .fakewa
        .place_call(&ann, &me, true)
        .await
        .expect("ann calls");
    let got = hook
        .wait("call.received", |p| p["id"] == call_id.as_str())
        .await;
    assert_eq!(got["session"], id.as_str());
    assert_eq!(got["payload"]["from"], from.as_str());
    assert_eq!(got["payload"]["isVideo"], true);
    assert!(got["payload"]["timestamp"].is_i64(), "{got}");

    // Bad input: every missing name, a caller that is no chat id, a call that does not ring, a
    // ringing call named with another caller.
    let res = env
        .call("POST", "/v2/calls/reject", &[("instance_id", &id)])
        .await;
    res.assert_error(400, "missing_param");
    assert_eq!(
        res.json["details"]["missing"],
        serde_json::json!(["callId", "from"])
    );
    reject(&env, &id, &call_id, "not a jid")
        .await
        .assert_error(400, "invalid_chat_id");
    reject(&env, &id, "0123456789ABCDEF", &from)
        .await
        .assert_error(404, "not_found");
    reject(&env, &id, &call_id, "12015550899@c.us")
        .await
        .assert_error(404, "not_found");
    assert_eq!(
        env.fakewa.calls(&ann).await.expect("calls")[0].status,
        CallStatus::Offered,
        "still ringing"
    );

    let res = reject(&env, &id, &call_id, &from).await;
    res.assert_status(200);
    assert_eq!(res.json["success"], true);
    caller_sees(&env, &ann, &call_id, CallStatus::Rejected).await;
    hook.wait("call.rejected", |p| {
        p == &serde_json::json!({"id": call_id})
    })
    .await;
    // Once declined, the call no longer rings.
    reject(&env, &id, &call_id, &from)
        .await
        .assert_error(404, "not_found");
    assert!(hook.of("call.accepted").is_empty());
}

#[tokio::test]
async fn a_call_declined_on_another_device_is_call_rejected() {
    let env = TestEnv::start().await;
    let me = env.phone("12015550811", "Callee").await;
    let bob = env.phone("12015550812", "Bob").await;
    let id = env.linked_instance(&me).await;
    let hook = env.subscribe(&id, EVENTS).await;
    let keys = tempfile::tempdir().expect("keys dir");
    let mut other = sibling(&env, &me, keys.path()).await;
    let from = format!("{bob}@c.us");

    let call_id = env
        .fakewa
        .place_call(&bob, &me, false)
        .await
        .expect("bob calls");
    let got = hook
        .wait("call.received", |p| p["id"] == call_id.as_str())
        .await;
    assert_eq!(got["payload"]["isVideo"], false);
    // The other device rings too, then declines.
    let deadline = tokio::time::Instant::now() + crate::support::DEADLINE;
    loop {
        let event = tokio::time::timeout_at(deadline, other.next_event())
            .await
            .expect("the other device rings in time")
            .expect("the other device runs");
        if matches!(&event, wawp_engine::EngineEvent::Call(wawp_engine::CallSignal::Offered { id, .. }) if *id == call_id)
        {
            break;
        }
    }
    other
        .sender()
        .reject_call(&call_id, &from)
        .await
        .expect("declined on the other device");

    caller_sees(&env, &bob, &call_id, CallStatus::Rejected).await;
    let got: Value = hook
        .wait("call.rejected", |p| p["id"] == call_id.as_str())
        .await;
    assert_eq!(got["payload"], serde_json::json!({"id": call_id}));
    // Answered elsewhere: it no longer rings here.
    reject(&env, &id, &call_id, &from)
        .await
        .assert_error(404, "not_found");
    other.shutdown().await;
}
