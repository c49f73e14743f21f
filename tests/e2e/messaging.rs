//! Messaging stories (issue 4, first slice): text both ways through fakewa, replies, acks, the chat
//! list and message reads from the store, and bad inputs.

use crate::support::{TestEnv, eventually};

#[tokio::test]
async fn a_text_reaches_the_contact_and_is_stored_as_sent() {
    let env = TestEnv::start().await;
    let me = env.phone("12015550211", "Anna").await;
    let bob = env.phone("12015550222", "Bob").await;
    let id = env.linked_instance(&me).await;

    let res = env.send_text(&id, "12015550222@c.us", "hi Bob").await;
    res.assert_status(200);
    let sent = &res.json;
    let sent_id = sent["id"].as_str().expect("id");
    assert!(sent_id.starts_with("true_12015550222@c.us_"), "{sent}");
    assert_eq!(sent["fromMe"], true);
    assert_eq!(sent["body"], "hi Bob");
    assert_eq!(sent["from"], "12015550211@c.us");
    assert_eq!(sent["to"], "12015550222@c.us");

    let got = env.phone_receives(&bob, "hi Bob").await;
    assert!(
        sent_id.ends_with(&got.id),
        "the contact got the message with the id we returned: {} vs {sent_id}",
        got.id
    );

    // Stored: readable by id, listed in its chat, and the chat is listed.
    let read = env
        .call(
            "POST",
            "/v2/messages/get",
            &[
                ("instance_id", &id),
                ("chatId", "12015550222@c.us"),
                ("messageId", sent_id),
            ],
        )
        .await;
    read.assert_status(200);
    assert_eq!(read.json["body"], "hi Bob");
    let chats = env.call("GET", "/v2/chats", &[("instance_id", &id)]).await;
    chats.assert_status(200);
    let chat = chats
        .json
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == "12015550222@c.us").cloned());
    let chat = chat.unwrap_or_else(|| panic!("chat listed: {}", chats.text));
    assert_eq!(
        chat["unreadCount"], 0,
        "our own message leaves nothing unread"
    );
    assert_eq!(chat["lastMessage"]["id"], sent_id);
}

#[tokio::test]
async fn a_text_from_a_contact_is_stored_and_can_be_answered_with_a_reply() {
    let env = TestEnv::start().await;
    let me = env.phone("12015550233", "Carla").await;
    let dave = env.phone("12015550244", "Dave").await;
    let id = env.linked_instance(&me).await;

    env.fakewa
        .send_text(&dave, "12015550233", "hello Carla")
        .await
        .expect("dave sends");
    let got = env
        .stored_body(&id, "12015550244@c.us", "hello Carla")
        .await;
    assert_eq!(got["fromMe"], false);
    assert_eq!(got["from"], "12015550244@c.us");
    let got_id = got["id"].as_str().expect("id").to_string();
    assert!(got_id.starts_with("false_12015550244@c.us_"), "{got}");

    let chats = env
        .call(
            "GET",
            "/v2/chats",
            &[("instance_id", &id), ("sortBy", "id"), ("sortOrder", "ASC")],
        )
        .await;
    let chat = chats
        .json
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == "12015550244@c.us").cloned());
    assert_eq!(
        chat.expect("chat listed")["unreadCount"],
        1,
        "{}",
        chats.text
    );

    let res = env
        .call(
            "POST",
            "/v2/send/text",
            &[
                ("instance_id", &id),
                ("chatId", "12015550244@c.us"),
                ("message", "hi Dave"),
                ("reply_to", &got_id),
            ],
        )
        .await;
    res.assert_status(200);
    assert_eq!(res.json["replyTo"]["body"], "hello Carla", "{}", res.text);
    env.phone_receives(&dave, "hi Dave").await;

    let bare = got_id.rsplit('_').next().expect("bare id");
    let read = env
        .call(
            "POST",
            "/v2/messages/get",
            &[
                ("instance_id", &id),
                ("chatId", "12015550244@c.us"),
                ("messageId", bare),
            ],
        )
        .await;
    read.assert_status(200);
    assert_eq!(
        read.json["id"],
        got_id.as_str(),
        "a bare id finds the message too"
    );
}

#[tokio::test]
async fn two_sessions_talk_and_the_sender_sees_the_delivery_ack() {
    let env = TestEnv::start().await;
    let pa = env.phone("12015550255", "Ed").await;
    let pb = env.phone("12015550266", "Fay").await;
    let a = env.linked_instance(&pa).await;
    let b = env.linked_instance(&pb).await;

    let res = env.send_text(&a, "12015550266@c.us", "ping").await;
    res.assert_status(200);
    let sent_id = res.json["id"].as_str().expect("id").to_string();
    env.stored_body(&b, "12015550255@c.us", "ping").await;

    // B's device acknowledged it: A's stored message reaches DEVICE (2) or better.
    eventually("the delivery ack", || async {
        let m = env
            .call(
                "POST",
                "/v2/messages/get",
                &[
                    ("instance_id", &a),
                    ("chatId", "12015550266@c.us"),
                    ("messageId", &sent_id),
                ],
            )
            .await;
        (m.json["ack"].as_i64().unwrap_or(0) >= 2).then_some(())
    })
    .await;

    let res = env.send_text(&b, "12015550255@c.us", "pong").await;
    res.assert_status(200);
    env.stored_body(&a, "12015550266@c.us", "pong").await;
}

#[tokio::test]
async fn messages_sent_while_wawp_is_down_are_not_lost() {
    let mut env = TestEnv::start().await;
    let me = env.phone("12015550277", "Gus").await;
    let hal = env.phone("12015550288", "Hal").await;
    let id = env.linked_instance(&me).await;

    let url = env.fakewa.ws_url();
    let dir = env.wawp.data_dir.clone();
    let server = std::mem::replace(&mut env.wawp, crate::support::WawpServer::placeholder());
    server.stop().await;
    env.fakewa
        .send_text(&hal, "12015550277", "while you were away")
        .await
        .expect("hal sends");
    env.wawp = crate::support::WawpServer::start(dir, &url).await;

    env.stored_body(&id, "12015550288@c.us", "while you were away")
        .await;
}

#[tokio::test]
async fn bad_sends_are_refused_with_documented_errors() {
    let env = TestEnv::start().await;
    let me = env.phone("12015550299", "Ivy").await;
    let id = env.linked_instance(&me).await;

    let res = env
        .call("POST", "/v2/send/text", &[("instance_id", &id)])
        .await;
    res.assert_error(400, "missing_param");
    let missing = res.json["details"]["missing"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        missing.contains(&"chatId".into()) && missing.contains(&"message".into()),
        "{}",
        res.text
    );

    let res = env.send_text(&id, "20123@c.us", "x").await;
    res.assert_error(400, "invalid_chat_id");

    let res = env
        .call(
            "POST",
            "/v2/messages/get",
            &[
                ("instance_id", &id),
                ("chatId", "12015550211@c.us"),
                ("messageId", "true_12015550211@c.us_NOPE"),
            ],
        )
        .await;
    res.assert_error(404, "not_found");

    env.call("POST", "/v2/session/stop", &[("instance_id", &id)])
        .await
        .assert_status(200);
    let res = env.send_text(&id, "12015550211@c.us", "x").await;
    res.assert_error(422, "session_unexpected_status");
}

#[tokio::test]
async fn locations_contacts_and_polls_arrive_with_their_fields() {
    let env = TestEnv::start().await;
    let pa = env.phone("12015550411", "Ada").await;
    let pb = env.phone("12015550422", "Ben").await;
    let a = env.linked_instance(&pa).await;
    let b = env.linked_instance(&pb).await;
    let to_b = "12015550422@c.us";
    let from_a = "12015550411@c.us";

    let res = env
        .call(
            "POST",
            "/v2/send/location",
            &[
                ("instance_id", &a),
                ("chatId", to_b),
                ("latitude", "38.8937255"),
                ("longitude", "-77.0969763"),
                ("title", "Our office"),
                ("message", "123 Main St"),
            ],
        )
        .await;
    res.assert_status(200);
    assert_eq!(res.json["type"], "location");
    let got = env
        .stored(&b, from_a, "the location", |m| m["type"] == "location")
        .await;
    assert_eq!(got["location"]["latitude"], "38.8937255");
    assert_eq!(got["location"]["name"], "Our office");
    assert_eq!(got["location"]["address"], "123 Main St");

    let contacts = serde_json::json!({"instance_id": a, "chatId": to_b,
        "contacts": [{"fullName": "Wawp Support", "organization": "Wawp HQ", "phoneNumber": "+12015550433"}]});
    let res = env
        .json(reqwest::Method::POST, "/v2/send/contact", &contacts)
        .await;
    res.assert_status(200);
    let got = env
        .stored(&b, from_a, "the contact card", |m| m["type"] == "vcard")
        .await;
    let card = got["vCards"][0].as_str().expect("a vCard");
    assert!(
        card.contains("FN:Wawp Support") && card.contains("waid=12015550433"),
        "{card}"
    );

    let poll = serde_json::json!({"instance_id": a, "chatId": to_b,
        "poll": {"name": "Lunch?", "options": ["Pizza", "Sushi", "Salad"], "multipleAnswers": false}});
    let res = env
        .json(reqwest::Method::POST, "/v2/send/poll", &poll)
        .await;
    res.assert_status(200);
    let got = env
        .stored(&b, from_a, "the poll", |m| m["type"] == "poll_creation")
        .await;
    assert_eq!(got["poll"]["name"], "Lunch?");
    assert_eq!(
        got["poll"]["options"],
        serde_json::json!(["Pizza", "Sushi", "Salad"])
    );
    assert_eq!(got["poll"]["multipleAnswers"], false);

    // Bad inputs are refused before anything is sent.
    let bad = serde_json::json!({"instance_id": a, "chatId": to_b, "poll": {"name": "One?", "options": ["only"]}});
    env.json(reqwest::Method::POST, "/v2/send/poll", &bad)
        .await
        .assert_error(400, "invalid_param");
    let res = env
        .call(
            "POST",
            "/v2/send/location",
            &[
                ("instance_id", &a),
                ("chatId", to_b),
                ("latitude", "91"),
                ("longitude", "0"),
                ("title", "x"),
                ("message", "y"),
            ],
        )
        .await;
    res.assert_error(400, "invalid_param");
}

#[tokio::test]
async fn reactions_edits_deletes_and_read_receipts_reach_the_other_side() {
    let env = TestEnv::start().await;
    let pa = env.phone("12015550444", "Cy").await;
    let pb = env.phone("12015550455", "Di").await;
    let a = env.linked_instance(&pa).await;
    let b = env.linked_instance(&pb).await;
    let to_b = "12015550455@c.us";
    let from_a = "12015550444@c.us";

    let sent = env.send_text(&a, to_b, "first draft").await;
    sent.assert_status(200);
    let sent_id = sent.json["id"].as_str().expect("id").to_string();
    let bare = sent.json["_data"]["id"]["id"]
        .as_str()
        .expect("bare id")
        .to_string();
    let at_b = env
        .stored(&b, from_a, "the text", |m| m["body"] == "first draft")
        .await;
    let at_b_id = at_b["id"].as_str().expect("id").to_string();

    // B's delivery receipt reaches A before B answers. (Answering at once, while B may still be
    // finishing A's first message, lost B's first message to A in a few loaded runs: under
    // investigation, see the closing note of session 1.)
    eventually("the delivery ack at A", || async {
        let m = env
            .call(
                "POST",
                "/v2/messages/get",
                &[
                    ("instance_id", &a),
                    ("chatId", to_b),
                    ("messageId", &sent_id),
                ],
            )
            .await;
        (m.json["ack"].as_i64().unwrap_or(0) >= 2).then_some(())
    })
    .await;

    // B reacts to A's message: both sides show the reaction.
    let res = env
        .call(
            "PUT",
            "/v2/send/reaction",
            &[
                ("instance_id", &b),
                ("chatId", from_a),
                ("messageId", &at_b_id),
                ("reaction", "👍"),
            ],
        )
        .await;
    res.assert_status(200);
    assert_eq!(res.json["reactions"][0]["reaction"], "👍", "{}", res.text);
    env.stored(&a, to_b, "B's reaction at A", |m| {
        m["id"] == sent_id.as_str()
            && m["reactions"][0]["from"] == "12015550455@c.us"
            && m["reactions"][0]["reaction"] == "👍"
    })
    .await;

    // A edits its message: B sees the new text.
    let res = env
        .call(
            "PUT",
            "/v2/messages/edit",
            &[
                ("instance_id", &a),
                ("chatId", to_b),
                ("messageId", &sent_id),
                ("text", "final text"),
            ],
        )
        .await;
    res.assert_status(200);
    assert_eq!(res.json["isEdited"], true);
    env.stored(&b, from_a, "the edit at B", |m| {
        m["id"] == at_b_id.as_str() && m["body"] == "final text"
    })
    .await;

    // B marks it read: A's message reaches READ.
    let res = env
        .call(
            "POST",
            "/v2/chats/read",
            &[("instance_id", &b), ("chatId", from_a)],
        )
        .await;
    res.assert_status(200);
    assert!(
        res.json["marked"].as_u64().unwrap_or(0) >= 1,
        "{}",
        res.text
    );
    env.stored(&a, to_b, "the read receipt", |m| {
        m["id"] == sent_id.as_str() && m["ack"] == 3
    })
    .await;
    let chats = env.call("GET", "/v2/chats", &[("instance_id", &b)]).await;
    let chat = chats
        .json
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == from_a).cloned())
        .expect("chat");
    assert_eq!(chat["unreadCount"], 0);

    // B marks the chat unread again (an app-state change) and the overview counts it.
    env.call(
        "POST",
        "/v2/chats/unread",
        &[("instance_id", &b), ("chatId", from_a)],
    )
    .await
    .assert_status(200);
    let overview = env
        .call("GET", "/v2/chats/overview", &[("instance_id", &b)])
        .await;
    overview.assert_status(200);
    assert_eq!(overview.json["unreadChats"], 1, "{}", overview.text);
    let entry = overview.json["chats"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == from_a).cloned())
        .expect("listed");
    assert_eq!(entry["unreadCount"], 1);
    assert_eq!(entry["lastMessage"]["body"], "final text");

    // Only our own messages can be edited or deleted.
    let res = env
        .call(
            "PUT",
            "/v2/messages/edit",
            &[
                ("instance_id", &b),
                ("chatId", from_a),
                ("messageId", &at_b_id),
                ("text", "x"),
            ],
        )
        .await;
    res.assert_error(400, "invalid_param");

    // A deletes it for everyone: B's copy is gone.
    let res = env
        .call(
            "DELETE",
            "/v2/messages/delete",
            &[("instance_id", &a), ("chatId", to_b), ("messageId", &bare)],
        )
        .await;
    res.assert_status(200);
    env.stored(&b, from_a, "the revoke at B", |m| {
        m["id"] == at_b_id.as_str() && m["type"] == "revoked" && m["body"].is_null()
    })
    .await;

    // Seen and typing answer for a working session.
    let res = env
        .call(
            "POST",
            "/v2/send/seen",
            &[
                ("instance_id", &b),
                ("chatId", from_a),
                ("messageIds", &at_b_id),
            ],
        )
        .await;
    res.assert_status(200);
    env.call(
        "POST",
        "/v2/send/start-typing",
        &[("instance_id", &a), ("chatId", to_b)],
    )
    .await
    .assert_status(200);
    env.call(
        "POST",
        "/v2/send/stop-typing",
        &[("instance_id", &a), ("chatId", to_b)],
    )
    .await
    .assert_status(200);
}

/// A bot answers the instant a first message from a new contact is stored (before its own
/// delivery receipt has reached the sender): the answer and a reaction still reach the sender.
#[tokio::test]
async fn an_answer_sent_the_instant_a_first_message_arrives_is_not_lost() {
    let env = TestEnv::start().await;
    for round in 0..4u32 {
        let na = format!("120155505{}1", round);
        let nb = format!("120155505{}2", round);
        let pa = env.phone(&na, "Quick A").await;
        let pb = env.phone(&nb, "Quick B").await;
        let a = env.linked_instance(&pa).await;
        let b = env.linked_instance(&pb).await;
        let (to_b, from_a) = (format!("{nb}@c.us"), format!("{na}@c.us"));

        env.send_text(&a, &to_b, "hello bot")
            .await
            .assert_status(200);
        // Poll B's store tightly: answer as soon as the message is there.
        let deadline = tokio::time::Instant::now() + crate::support::DEADLINE;
        let at_b = loop {
            let res = env.chat_messages(&b, &from_a).await;
            if let Some(m) = res.json.as_array().and_then(|a| a.first()).cloned() {
                break m;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "A's text never reached B"
            );
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        };
        let at_b_id = at_b["id"].as_str().expect("id").to_string();
        env.send_text(&b, &from_a, "hello human")
            .await
            .assert_status(200);
        env.call(
            "PUT",
            "/v2/send/reaction",
            &[
                ("instance_id", &b),
                ("chatId", &from_a),
                ("messageId", &at_b_id),
                ("reaction", "👍"),
            ],
        )
        .await
        .assert_status(200);
        env.stored(&a, &to_b, &format!("round {round}: B's answer at A"), |m| {
            m["body"] == "hello human"
        })
        .await;
        env.stored(
            &a,
            &to_b,
            &format!("round {round}: B's reaction at A"),
            |m| m["reactions"][0]["reaction"] == "👍",
        )
        .await;
    }
}
