//! Stored messages: a batch of messages leaves each chat as the messages one by one would, replays
//! change nothing, and changes to one message that arrive together all land.

use wawp_store::{MessageRow, NewDelivery, NewEvent, NewMessage};

use super::{Backend, an_instance, backends, unique};

/// The marks a test payload carries (`{"marks": [...]}`), plus `mark`.
fn with_mark(payload: &str, mark: &str) -> Option<String> {
    let mut doc: serde_json::Value = serde_json::from_str(payload).ok()?;
    doc["marks"].as_array_mut()?.push(mark.into());
    Some(doc.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_changes_and_ack_raises_to_one_message_all_land() {
    for Backend { store, .. } in backends("concurrent_changes_all_land").await {
        let b = store.backend();
        let inst = an_instance(&store).await;
        let wa_id = unique("3EB0");
        let id = format!("true_1@c.us_{wa_id}");
        let msg = NewMessage {
            row: MessageRow {
                instance_id: inst.clone(),
                id: id.clone(),
                wa_id: wa_id.clone(),
                chat_id: "1@c.us".to_string(),
                from_me: 1,
                timestamp: 1_700_000_000_000,
                ack: 1,
                payload: r#"{"marks":[]}"#.to_string(),
            },
            chat_name: None,
            unread: false,
        };
        store.save_messages(&[msg], &[]).await.expect("save");

        // 40 changes (by serialized id, and by bare id for the odd ones) race three ack raises.
        let mut calls = Vec::new();
        for n in 0..40 {
            let store = store.clone();
            let (inst, key) = (
                inst.clone(),
                if n % 2 == 0 {
                    id.clone()
                } else {
                    wa_id.clone()
                },
            );
            calls.push(tokio::spawn(async move {
                let row = store
                    .update_message(&inst, &key, |row| with_mark(&row.payload, &format!("c{n}")))
                    .await
                    .expect("update");
                assert!(row.is_some(), "the message exists");
            }));
        }
        for ack in 2..=4 {
            let store = store.clone();
            let (inst, wa_id) = (inst.clone(), wa_id.clone());
            calls.push(tokio::spawn(async move {
                store
                    .raise_message_ack(&inst, &[wa_id], ack, move |row| {
                        with_mark(&row.payload, &format!("ack{ack}")).unwrap_or_default()
                    })
                    .await
                    .expect("ack");
            }));
        }
        for call in calls {
            call.await.expect("task");
        }

        let row = store
            .get_message(&inst, &id)
            .await
            .expect("get")
            .expect("stored");
        assert_eq!(row.ack, 4, "{b}: acks only go up");
        let doc: serde_json::Value = serde_json::from_str(&row.payload).expect("json");
        let marks: Vec<&str> = doc["marks"]
            .as_array()
            .expect("marks")
            .iter()
            .filter_map(|m| m.as_str())
            .collect();
        for n in 0..40 {
            assert!(
                marks.contains(&format!("c{n}").as_str()),
                "{b}: change {n} lost: {marks:?}"
            );
        }
        assert!(
            marks.contains(&"ack4"),
            "{b}: the last ack's rewrite is kept"
        );

        // A change to a message that is not there answers None and writes nothing.
        assert!(
            store
                .update_message(&inst, "no-such-id", |_| Some("{}".into()))
                .await
                .expect("update")
                .is_none(),
            "{b}"
        );
        // A change that answers None leaves the payload as it was.
        let same = store
            .update_message(&inst, &id, |_| None)
            .await
            .expect("update")
            .expect("exists");
        assert_eq!(same.payload, row.payload, "{b}");
        assert!(store.delete_instance(&inst).await.expect("cleanup"), "{b}");
    }
}

/// A message of `chat` at `ts` (seconds), from us or not, with the push name it came with.
fn message(
    inst: &str,
    chat: &str,
    id: &str,
    ts: i64,
    from_me: bool,
    name: Option<&str>,
) -> NewMessage {
    NewMessage {
        row: MessageRow {
            instance_id: inst.to_string(),
            id: id.to_string(),
            wa_id: id.to_string(),
            chat_id: chat.to_string(),
            from_me: i64::from(from_me),
            timestamp: ts,
            ack: 1,
            payload: "{}".to_string(),
        },
        chat_name: name.map(str::to_string),
        unread: !from_me,
    }
}

/// The `message` event of a message, with one delivery.
fn message_event(m: &NewMessage) -> NewEvent {
    NewEvent {
        event_id: super::unique("evt"),
        instance_id: m.row.instance_id.clone(),
        name: "message".to_string(),
        chat_key: Some(m.row.chat_id.clone()),
        envelope: "{}".to_string(),
        created_at: m.row.timestamp,
        message_id: Some(m.row.id.clone()),
        deliveries: vec![NewDelivery {
            webhook_id: "h1".to_string(),
            url: "http://127.0.0.1:9/h1".to_string(),
        }],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_updates_each_chat_as_one_message_at_a_time_and_replays_change_nothing() {
    let _serial = super::CLAIMS.lock().await;
    for Backend { store, .. } in backends("batch_updates_chats").await {
        let b = store.backend();
        let inst = an_instance(&store).await;
        let id = |n: &str| super::unique(n);
        let (a1, a2, a3, b1) = (id("a1"), id("a2"), id("a3"), id("b1"));
        let batch = vec![
            message(&inst, "a@c.us", &a1, 10, false, Some("Ann")),
            message(&inst, "b@c.us", &b1, 5, false, Some("Bob")),
            // Our reply reads chat a; what comes after it is unread again.
            message(&inst, "a@c.us", &a2, 11, true, None),
            message(&inst, "a@c.us", &a3, 12, false, None),
            // The same message twice in one batch counts once.
            message(&inst, "b@c.us", &b1, 5, false, Some("Bob")),
        ];
        let events: Vec<NewEvent> = batch[..4].iter().map(message_event).collect();
        let new = store.save_messages(&batch, &events).await.expect("save");
        assert_eq!(new, 4, "{b}");
        let chat_a = store
            .get_chat(&inst, "a@c.us")
            .await
            .expect("get")
            .expect("chat a");
        assert_eq!(
            (
                chat_a.name.as_deref(),
                chat_a.last_message_id.as_deref(),
                chat_a.last_timestamp,
                chat_a.unread_count
            ),
            (Some("Ann"), Some(a3.as_str()), 12, 1),
            "{b}"
        );
        let chat_b = store
            .get_chat(&inst, "b@c.us")
            .await
            .expect("get")
            .expect("chat b");
        assert_eq!(
            (chat_b.name.as_deref(), chat_b.unread_count),
            (Some("Bob"), 1),
            "{b}"
        );
        let recorded = store.events_after(&inst, 0, 100).await.expect("events");
        assert_eq!(recorded.len(), 4, "{b}");

        // A replay of a3 beside a new, older message: only the new one counts, and the newest
        // message stays the chat's last.
        let a0 = id("a0");
        let again = vec![
            message(&inst, "a@c.us", &a3, 12, false, None),
            message(&inst, "a@c.us", &a0, 9, false, Some("Ann B")),
        ];
        let events: Vec<NewEvent> = again.iter().map(message_event).collect();
        assert_eq!(
            store.save_messages(&again, &events).await.expect("save"),
            1,
            "{b}"
        );
        let chat_a = store
            .get_chat(&inst, "a@c.us")
            .await
            .expect("get")
            .expect("chat a");
        assert_eq!(
            (
                chat_a.name.as_deref(),
                chat_a.last_message_id.as_deref(),
                chat_a.unread_count
            ),
            (Some("Ann B"), Some(a3.as_str()), 2),
            "{b}"
        );
        assert_eq!(
            store
                .events_after(&inst, 0, 100)
                .await
                .expect("events")
                .len(),
            5,
            "{b}"
        );

        // Concurrent saves (one commit may carry several of them) each count.
        let mut calls = Vec::new();
        for n in 0..30 {
            let store = store.clone();
            let m = message(&inst, "c@c.us", &id(&format!("c{n}")), 100 + n, false, None);
            calls.push(tokio::spawn(async move {
                let events = vec![message_event(&m)];
                store.save_messages(&[m], &events).await.expect("save")
            }));
        }
        let mut saved = 0;
        for call in calls {
            saved += call.await.expect("task");
        }
        assert_eq!(saved, 30, "{b}");
        let chat_c = store
            .get_chat(&inst, "c@c.us")
            .await
            .expect("get")
            .expect("chat c");
        assert_eq!(
            (chat_c.unread_count, chat_c.last_timestamp),
            (30, 129),
            "{b}"
        );
        let claimed = store
            .claim_due_deliveries(i64::MAX / 2, 60_000, 10)
            .await
            .expect("claim");
        assert!(
            claimed.iter().any(|d| d.chat_key == "c@c.us"),
            "{b}: the chat's chain exists"
        );
        assert!(store.delete_instance(&inst).await.expect("cleanup"), "{b}");
    }
}
