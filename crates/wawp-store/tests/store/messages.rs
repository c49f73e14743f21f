//! Stored messages: changes to one message that arrive together all land.

use wawp_store::{MessageRow, NewMessage};

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
                    .raise_message_ack(&inst, &[wa_id], ack, |row| {
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
