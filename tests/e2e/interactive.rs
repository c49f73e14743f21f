//! Interactive messages and signals between two linked sessions: typing shows as
//! `presence.update`, a poll voted on through the API reaches its creator as `poll.vote` and in
//! the stored tally, and lists and calendar events arrive with their fields.

use serde_json::{Value, json};

use crate::support::TestEnv;

/// Two sessions, A and B, each linked to its own virtual phone. Returns (env, a, b, a's chat id
/// as B sees it, b's chat id as A sees it).
async fn two_sessions(pa: &str, pb: &str) -> (TestEnv, String, String, String, String) {
    let env = TestEnv::start().await;
    env.phone(pa, "Anna").await;
    env.phone(pb, "Bram").await;
    let a = env.linked_instance(pa).await;
    let b = env.linked_instance(pb).await;
    (env, a, b, format!("{pa}@c.us"), format!("{pb}@c.us"))
}

#[tokio::test]
async fn typing_in_one_session_is_a_presence_update_in_the_other() {
    let (env, a, b, to_a, to_b) = two_sessions("12015550601", "12015550602").await;
    let hook = env.subscribe(&b, &["presence.update"]).await;
    env.call(
        "POST",
        "/v2/send/start-typing",
        &[("instance_id", &a), ("chatId", &to_b)],
    )
    .await
    .assert_status(200);
    let got = hook
        .wait("presence.update", |p| p["type"] == "composing")
        .await;
    assert_eq!(got["payload"]["chatId"], to_a.as_str());
    assert_eq!(got["payload"]["from"], to_a.as_str());
    assert_eq!(got["session"], b.as_str());
    assert!(got["id"].as_str().is_some_and(|i| i.starts_with("evt_")));
    env.call(
        "POST",
        "/v2/send/stop-typing",
        &[("instance_id", &a), ("chatId", &to_b)],
    )
    .await
    .assert_status(200);
    hook.wait("presence.update", |p| {
        p["type"] == "paused" && p["from"] == to_a.as_str()
    })
    .await;
}

#[tokio::test]
async fn a_vote_through_the_api_reaches_the_poll_creator_and_its_tally() {
    let (env, a, b, to_a, to_b) = two_sessions("12015550611", "12015550612").await;
    let hook = env.subscribe(&a, &["poll.vote", "poll.vote.failed"]).await;
    let poll = json!({"instance_id": a, "chatId": to_b,
        "poll": {"name": "Lunch?", "options": ["Pizza", "Sushi", "Salad"], "multipleAnswers": true}});
    let sent = env
        .json(reqwest::Method::POST, "/v2/send/poll", &poll)
        .await;
    sent.assert_status(200);
    let poll_id = sent.json["id"].as_str().expect("poll id").to_string();
    let at_b = env
        .stored(&b, &to_a, "a stored message", |m| {
            m["type"] == "poll_creation"
        })
        .await;

    let vote =
        json!({"instance_id": b, "chatId": to_a, "messageId": at_b["id"], "votes": ["Sushi", 2]});
    let res = env
        .json(reqwest::Method::POST, "/v2/send/poll/vote", &vote)
        .await;
    res.assert_status(200);
    assert_eq!(
        res.json["poll"]["votes"],
        json!([{"voter": to_b, "selectedOptions": ["Sushi", "Salad"]}])
    );

    let got = hook
        .wait("poll.vote", |p| p["vote"]["from"] == to_b.as_str())
        .await;
    assert_eq!(
        got["payload"]["vote"]["selectedOptions"],
        json!(["Sushi", "Salad"])
    );
    assert_eq!(got["payload"]["poll"]["id"], poll_id.as_str());
    assert_eq!(got["payload"]["vote"]["fromMe"], false);
    assert!(hook.of("poll.vote.failed").is_empty());

    // The creator's stored poll counts the vote; a new vote replaces it.
    let tally = |m: &Value| m["poll"]["votes"].clone();
    env.stored(&a, &to_b, "a stored message", |m| {
        m["id"] == poll_id.as_str()
            && tally(m) == json!([{"voter": to_b, "selectedOptions": ["Sushi", "Salad"]}])
    })
    .await;
    let again =
        json!({"instance_id": b, "chatId": to_a, "messageId": at_b["id"], "votes": ["Pizza"]});
    env.json(reqwest::Method::POST, "/v2/send/poll/vote", &again)
        .await
        .assert_status(200);
    env.stored(&a, &to_b, "a stored message", |m| {
        m["id"] == poll_id.as_str()
            && tally(m) == json!([{"voter": to_b, "selectedOptions": ["Pizza"]}])
    })
    .await;

    // Votes that name no option are refused before anything is sent.
    let bad =
        json!({"instance_id": b, "chatId": to_a, "messageId": at_b["id"], "votes": ["Tacos"]});
    env.json(reqwest::Method::POST, "/v2/send/poll/vote", &bad)
        .await
        .assert_error(400, "invalid_param");
}

#[tokio::test]
async fn lists_and_events_arrive_with_their_fields() {
    let (env, a, b, to_a, to_b) = two_sessions("12015550621", "12015550622").await;
    let list = json!({"instance_id": a, "chatId": to_b, "message": {
        "title": "Simple Menu", "description": "Please choose an option", "footer": "Thank you!",
        "button": "Open Menu", "sections": [{"title": "Main Options", "rows": [
            {"title": "Option 1", "rowId": "opt1", "description": "Description for 1"},
            {"title": "Option 2", "rowId": "opt2"}]}]}});
    let res = env
        .json(reqwest::Method::POST, "/v2/send/list", &list)
        .await;
    res.assert_status(200);
    assert_eq!(res.json["type"], "list");
    let got = env
        .stored(&b, &to_a, "a stored message", |m| m["type"] == "list")
        .await;
    assert_eq!(got["list"]["button"], "Open Menu");
    assert_eq!(got["list"]["footer"], "Thank you!");
    assert_eq!(
        got["list"]["sections"], list["message"]["sections"],
        "sections and rows read back as sent"
    );
    assert_eq!(got["body"], "Please choose an option");

    // Form fields with dotted names, as the documents list them.
    let res = env
        .call(
            "POST",
            "/v2/send/event",
            &[
                ("instance_id", &a),
                ("chatId", &to_b),
                ("event.name", "Team Meeting"),
                ("event.description", "Discussing Q1 Roadmap"),
                ("event.startTime", "1735920000"),
                ("event.endTime", "1735923600"),
                ("event.location.name", "Meeting Room A"),
                ("event.extraGuestsAllowed", "true"),
            ],
        )
        .await;
    res.assert_status(200);
    let got = env
        .stored(&b, &to_a, "a stored message", |m| {
            m["type"] == "event_creation"
        })
        .await;
    assert_eq!(
        got["event"],
        json!({"name": "Team Meeting", "description": "Discussing Q1 Roadmap",
               "startTime": 1735920000, "endTime": 1735923600,
               "location": {"name": "Meeting Room A"}, "extraGuestsAllowed": true, "isCanceled": false})
    );

    let bad = json!({"instance_id": a, "chatId": to_b, "message": {
        "title": "T", "description": "D", "button": "B", "sections": [{"title": "S", "rows": []}]}});
    env.json(reqwest::Method::POST, "/v2/send/list", &bad)
        .await
        .assert_error(400, "invalid_param");
    env.call(
        "POST",
        "/v2/send/event",
        &[("instance_id", &a), ("chatId", &to_b), ("event.name", "x")],
    )
    .await
    .assert_error(400, "missing_param");
}
