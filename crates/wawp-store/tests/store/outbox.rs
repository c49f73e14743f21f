//! The event outbox: recording (alone and with messages), per-chat ordering of deliveries,
//! claim / settle / dead, replay, live-stream reads and retention.

use wawp_store::{
    FailedAttempt, MessageRow, NewDelivery, NewEvent, NewMessage, Outcome, Settled, Store,
};

use super::{Backend, CLAIMS, an_instance, backends, unique};

fn event(instance_id: &str, chat: Option<&str>, hooks: &[&str], created_at: i64) -> NewEvent {
    let event_id = unique("evt");
    NewEvent {
        envelope: format!(r#"{{"id":"{event_id}"}}"#),
        event_id,
        instance_id: instance_id.to_string(),
        name: "message".to_string(),
        chat_key: chat.map(str::to_string),
        created_at,
        message_id: None,
        deliveries: hooks
            .iter()
            .map(|h| NewDelivery {
                webhook_id: h.to_string(),
                url: format!("http://127.0.0.1:9/{h}"),
            })
            .collect(),
    }
}

/// A delivery's attempt that succeeded.
fn delivered(id: i64) -> Settled {
    Settled {
        id,
        outcome: Outcome::Delivered {
            status_code: 200,
            latency_ms: 1,
        },
    }
}

/// Claims everything due now and returns the event ids claimed.
async fn claim(store: &Store, now: i64) -> Vec<(String, String)> {
    store
        .claim_due_deliveries(now, 60_000, 100)
        .await
        .expect("claim")
        .into_iter()
        .map(|c| (c.event_id, c.webhook_id))
        .collect()
}

#[tokio::test]
async fn deliveries_keep_their_order_per_webhook_and_chat() {
    let _serial = CLAIMS.lock().await;
    for Backend { store, .. } in backends("deliveries_keep_their_order_per_webhook_and_chat").await
    {
        let b = store.backend();
        let inst = an_instance(&store).await;
        let now = wawp_now();
        let a1 = event(&inst, Some("a@c.us"), &["h1", "h2"], now);
        let a2 = event(&inst, Some("a@c.us"), &["h1", "h2"], now);
        let b1 = event(&inst, Some("b@c.us"), &["h1"], now);
        assert_eq!(
            store
                .record_events(&[a1.clone(), a2.clone(), b1.clone()])
                .await
                .expect("record"),
            3
        );
        // Recording the same event again changes nothing.
        assert_eq!(
            store
                .record_events(std::slice::from_ref(&a1))
                .await
                .expect("again"),
            0,
            "{b}"
        );

        // First in line: a1 for both webhooks, b1; a2 waits behind a1.
        let mut first = claim(&store, now).await;
        first.sort();
        let mut expected = vec![
            (a1.event_id.clone(), "h1".to_string()),
            (a1.event_id.clone(), "h2".to_string()),
            (b1.event_id.clone(), "h1".to_string()),
        ];
        expected.sort();
        assert_eq!(first, expected, "{b}");
        // Claimed rows are not handed out twice while leased, and a2 is still blocked.
        assert!(claim(&store, now).await.is_empty(), "{b}");

        let rows = store.list_deliveries(&inst, None, 100).await.expect("list");
        let id_of = |event_id: &str, hook: &str| {
            rows.iter()
                .find(|r| r.event_id == event_id && r.webhook_id == hook)
                .map(|r| r.id)
                .expect("row")
        };
        // h1 fails a1 and retries later: a2 stays blocked for h1; h2 delivers a1: a2 is due for h2.
        store
            .mark_failed(
                id_of(&a1.event_id, "h1"),
                &FailedAttempt {
                    status_code: Some(500),
                    error: "HTTP 500",
                    latency_ms: 3,
                    retry_at: Some(now + 1000),
                },
            )
            .await
            .expect("fail");
        store
            .mark_delivered(id_of(&a1.event_id, "h2"), 200, 4)
            .await
            .expect("delivered");
        assert_eq!(
            claim(&store, now).await,
            vec![(a2.event_id.clone(), "h2".to_string())],
            "{b}"
        );
        // Once the retry is due, a1 comes back for h1 (a2 still waits behind it).
        assert_eq!(
            claim(&store, now + 1000).await,
            vec![(a1.event_id.clone(), "h1".to_string())],
            "{b}"
        );
        // a1 dies for h1: a2 is next.
        store
            .mark_failed(
                id_of(&a1.event_id, "h1"),
                &FailedAttempt {
                    status_code: None,
                    error: "connect",
                    latency_ms: 1,
                    retry_at: None,
                },
            )
            .await
            .expect("dead");
        assert_eq!(
            claim(&store, now + 1000).await,
            vec![(a2.event_id.clone(), "h1".to_string())],
            "{b}"
        );

        let dead = store
            .list_deliveries(&inst, Some("dead"), 10)
            .await
            .expect("dead");
        assert_eq!(dead.len(), 1, "{b}");
        assert_eq!(dead[0].event_id, a1.event_id, "{b}");
        assert_eq!(dead[0].attempts, 2, "{b}");
        assert_eq!(dead[0].last_error.as_deref(), Some("connect"), "{b}");
        let delivered = store
            .list_deliveries(&inst, Some("delivered"), 10)
            .await
            .expect("delivered");
        assert_eq!(delivered.len(), 1, "{b}");
        assert_eq!(delivered[0].last_status_code, Some(200), "{b}");
        assert_eq!(delivered[0].last_latency_ms, Some(4), "{b}");
        assert!(delivered[0].delivered_at.is_some(), "{b}");

        // Replay: dead ones go back in line, attempts start over.
        assert_eq!(
            store.requeue_dead_deliveries(&inst).await.expect("requeue"),
            1,
            "{b}"
        );
        let again = store
            .list_deliveries(&inst, Some("pending"), 10)
            .await
            .expect("pending");
        assert!(
            again
                .iter()
                .any(|r| r.event_id == a1.event_id && r.attempts == 0),
            "{b}"
        );
        // Replaying chosen events re-sends delivered ones too.
        assert_eq!(
            store
                .requeue_events(&inst, std::slice::from_ref(&a1.event_id))
                .await
                .expect("replay"),
            1,
            "{b}"
        );
        assert_eq!(
            store
                .requeue_events(&inst, &["evt_unknown".to_string()])
                .await
                .expect("replay"),
            0,
            "{b}"
        );
        assert!(store.delete_instance(&inst).await.expect("cleanup"), "{b}");
    }
}

#[tokio::test]
async fn a_chain_hands_out_its_next_deliveries_in_order_and_a_retry_stops_it() {
    let _serial = CLAIMS.lock().await;
    for Backend { store, .. } in
        backends("a_chain_hands_out_its_next_deliveries_in_order_and_a_retry_stops_it").await
    {
        let b = store.backend();
        let inst = an_instance(&store).await;
        let now = wawp_now();
        // A backlog of 300 events of one chat (a receiver that was down), and one other chat.
        let backlog: Vec<NewEvent> = (0..300)
            .map(|_| event(&inst, Some("a@c.us"), &["h"], now))
            .collect();
        store.record_events(&backlog).await.expect("record");
        let other = event(&inst, Some("b@c.us"), &["h"], now);
        store
            .record_events(std::slice::from_ref(&other))
            .await
            .expect("record");

        // One claim: each chain once, its next deliveries in commit order.
        let chains = store
            .claim_due_chains(now, 60_000, 10, 64)
            .await
            .expect("claim");
        assert_eq!(chains.len(), 2, "{b}");
        let a = chains
            .iter()
            .find(|c| c[0].chat_key == "a@c.us")
            .expect("chain a");
        let got: Vec<&str> = a.iter().map(|d| d.event_id.as_str()).collect();
        let want: Vec<&str> = backlog[..64].iter().map(|e| e.event_id.as_str()).collect();
        assert_eq!(got, want, "{b}");
        // Leased chains are not handed out again.
        assert!(
            store
                .claim_due_chains(now, 60_000, 10, 64)
                .await
                .expect("claim")
                .is_empty(),
            "{b}"
        );

        // The dispatcher delivered 10, then the 11th failed and will be retried in a second.
        let mut settled: Vec<Settled> = a[..10].iter().map(|d| delivered(d.id)).collect();
        settled.push(Settled {
            id: a[10].id,
            outcome: Outcome::Failed {
                status_code: Some(500),
                error: "HTTP 500".into(),
                latency_ms: 1,
                retry_at: Some(now + 1000),
            },
        });
        store
            .settle_deliveries(&a[0].chain(), &settled)
            .await
            .expect("settle");
        // Not due before the retry; then it starts again at the one that failed.
        assert!(
            store
                .claim_due_chains(now, 60_000, 10, 64)
                .await
                .expect("claim")
                .is_empty(),
            "{b}"
        );
        let again = store
            .claim_due_chains(now + 1000, 60_000, 10, 5)
            .await
            .expect("claim");
        assert_eq!(again.len(), 1, "{b}");
        assert_eq!(again[0][0].event_id, backlog[10].event_id, "{b}");
        assert_eq!(again[0][0].attempts, 1, "{b}");
        assert_eq!(again[0].len(), 5, "{b}");

        // Everything delivered: the chain is gone and nothing is due.
        let all: Vec<Settled> = store
            .list_deliveries(&inst, Some("pending"), 1000)
            .await
            .expect("pending")
            .into_iter()
            .map(|d| delivered(d.id))
            .collect();
        assert_eq!(all.len(), 291, "{b}");
        store
            .settle_deliveries(&again[0][0].chain(), &all)
            .await
            .expect("settle");
        assert!(
            store
                .claim_due_chains(now + 1000, 60_000, 10, 64)
                .await
                .expect("claim")
                .is_empty(),
            "{b}"
        );
        // A new event of that chat starts the chain again.
        let late = event(&inst, Some("a@c.us"), &["h"], now + 1000);
        store
            .record_events(std::slice::from_ref(&late))
            .await
            .expect("record");
        let last = store
            .claim_due_chains(now + 1000, 60_000, 10, 64)
            .await
            .expect("claim");
        assert_eq!(last.len(), 1, "{b}");
        assert_eq!(last[0][0].event_id, late.event_id, "{b}");
        assert!(store.delete_instance(&inst).await.expect("cleanup"), "{b}");
    }
}

#[tokio::test]
async fn an_expired_claim_is_handed_out_again() {
    let _serial = CLAIMS.lock().await;
    for Backend { store, .. } in backends("an_expired_claim_is_handed_out_again").await {
        let b = store.backend();
        let inst = an_instance(&store).await;
        let now = wawp_now();
        let ev = event(&inst, None, &["h"], now);
        store
            .record_events(std::slice::from_ref(&ev))
            .await
            .expect("record");
        let first = store
            .claim_due_deliveries(now, 5_000, 10)
            .await
            .expect("claim");
        assert_eq!(first.len(), 1, "{b}");
        assert_eq!(first[0].envelope, ev.envelope, "{b}");
        assert_eq!(first[0].chat_key, "", "{b}");
        assert!(
            store
                .claim_due_deliveries(now + 4_999, 5_000, 10)
                .await
                .expect("claim")
                .is_empty(),
            "{b}"
        );
        // A restarted single dispatcher drops stale claims: due again at once.
        assert_eq!(
            store.release_delivery_leases().await.expect("release"),
            1,
            "{b}"
        );
        assert_eq!(
            store
                .claim_due_deliveries(now, 5_000, 10)
                .await
                .expect("claim")
                .len(),
            1,
            "{b}"
        );
        assert_eq!(
            store
                .claim_due_deliveries(now + 5_000, 5_000, 10)
                .await
                .expect("claim")
                .len(),
            1,
            "{b}"
        );
        assert!(store.delete_instance(&inst).await.expect("cleanup"), "{b}");
    }
}

#[tokio::test]
async fn events_commit_with_their_messages_and_replays_keep_the_first_event() {
    let _serial = CLAIMS.lock().await;
    for Backend { store, .. } in backends("events_commit_with_their_messages").await {
        let b = store.backend();
        let inst = an_instance(&store).await;
        let msg = NewMessage {
            row: MessageRow {
                instance_id: inst.clone(),
                id: unique("false_1@c.us"),
                wa_id: unique("3EB0"),
                chat_id: "1@c.us".to_string(),
                from_me: 0,
                timestamp: 1_700_000_000_000,
                ack: 1,
                payload: "{}".to_string(),
            },
            chat_name: None,
            unread: true,
        };
        let mut ev = event(&inst, Some("1@c.us"), &["h"], wawp_now());
        ev.message_id = Some(msg.row.id.clone());
        assert_eq!(
            store
                .save_messages(std::slice::from_ref(&msg), std::slice::from_ref(&ev))
                .await
                .expect("save"),
            1
        );
        let start = 0;
        let stored = store.events_after(&inst, start, 10).await.expect("events");
        assert_eq!(stored.len(), 1, "{b}");
        assert_eq!(stored[0].event_id, ev.event_id, "{b}");
        assert_eq!(
            store.event_seq(&inst, &ev.event_id).await.expect("seq"),
            Some(stored[0].seq),
            "{b}"
        );
        assert_eq!(
            store.last_event_seq(&inst).await.expect("last"),
            stored[0].seq,
            "{b}"
        );

        // The same message again (WhatsApp redelivers after a crash) with a freshly prepared event:
        // the message is known, so its new event is skipped.
        let mut replayed = event(&inst, Some("1@c.us"), &["h"], wawp_now());
        replayed.message_id = Some(msg.row.id.clone());
        assert_eq!(
            store
                .save_messages(std::slice::from_ref(&msg), &[replayed])
                .await
                .expect("save again"),
            0
        );
        assert_eq!(
            store
                .events_after(&inst, 0, 10)
                .await
                .expect("events")
                .len(),
            1,
            "{b}"
        );
        assert_eq!(
            store
                .list_deliveries(&inst, None, 10)
                .await
                .expect("list")
                .len(),
            1,
            "{b}"
        );

        // An event for an unknown instance fails the whole transaction.
        let other = MessageRow {
            id: unique("false_2@c.us"),
            ..msg.row.clone()
        };
        let orphan = event("NO_SUCH_INSTANCE", None, &["h"], wawp_now());
        let err = store
            .save_messages(
                &[NewMessage {
                    row: other.clone(),
                    chat_name: None,
                    unread: false,
                }],
                &[orphan],
            )
            .await;
        assert!(err.is_err(), "{b}");
        assert!(
            store
                .get_message(&inst, &other.id)
                .await
                .expect("get")
                .is_none(),
            "{b}: rolled back"
        );
        assert!(store.delete_instance(&inst).await.expect("cleanup"), "{b}");
    }
}

#[tokio::test]
async fn concurrent_saves_each_commit_and_a_bad_one_fails_alone() {
    let _serial = CLAIMS.lock().await;
    for Backend { store, .. } in backends("concurrent_saves_each_commit").await {
        let b = store.backend();
        let inst = an_instance(&store).await;
        let message = |n: usize| NewMessage {
            row: MessageRow {
                instance_id: inst.clone(),
                id: format!("false_1@c.us_{inst}_{n}"),
                wa_id: format!("W{n}"),
                chat_id: "1@c.us".to_string(),
                from_me: 0,
                timestamp: 1_700_000_000_000 + i64::try_from(n).unwrap_or(0),
                ack: 1,
                payload: "{}".to_string(),
            },
            chat_name: None,
            unread: true,
        };
        // 60 saves at once (SQLite shares commits between them), every tenth one a replay of an
        // earlier message, and one whose event names an unknown instance.
        let mut calls = Vec::new();
        for n in 0..60usize {
            let store = store.clone();
            let msg = message(if n % 10 == 9 { n - 1 } else { n });
            let mut ev = event(&inst, Some("1@c.us"), &["h"], wawp_now());
            ev.message_id = Some(msg.row.id.clone());
            if n == 30 {
                ev.instance_id = "NO_SUCH_INSTANCE".to_string();
            }
            calls.push(tokio::spawn(async move {
                store.save_messages(&[msg], &[ev]).await
            }));
        }
        let mut saved = 0;
        let mut failed = 0;
        for (n, call) in calls.into_iter().enumerate() {
            match call.await.expect("task") {
                Ok(count) => saved += count,
                Err(_) => {
                    assert_eq!(n, 30, "{b}: only the bad save fails");
                    failed += 1;
                }
            }
        }
        assert_eq!(failed, 1, "{b}");
        // 60 saves - 6 replays - 1 failed = 53 new messages, each with one event and delivery.
        assert_eq!(saved, 53, "{b}");
        assert_eq!(
            store
                .events_after(&inst, 0, 1000)
                .await
                .expect("events")
                .len(),
            53,
            "{b}"
        );
        assert!(
            store
                .get_message(&inst, &message(30).row.id)
                .await
                .expect("get")
                .is_none(),
            "{b}: the bad save left nothing"
        );
        assert!(store.delete_instance(&inst).await.expect("cleanup"), "{b}");
    }
}

#[tokio::test]
async fn retention_purges_old_settled_events_only() {
    let _serial = CLAIMS.lock().await;
    for Backend { store, .. } in backends("retention_purges_old_settled_events_only").await {
        let b = store.backend();
        let inst = an_instance(&store).await;
        let old_done = event(&inst, Some("x"), &["h"], 1_000);
        let old_pending = event(&inst, Some("y"), &["h"], 1_000);
        let old_no_hooks = event(&inst, None, &[], 1_000);
        let fresh = event(&inst, None, &[], 9_000_000_000_000);
        store
            .record_events(&[
                old_done.clone(),
                old_pending.clone(),
                old_no_hooks.clone(),
                fresh.clone(),
            ])
            .await
            .expect("record");
        let rows = store.list_deliveries(&inst, None, 10).await.expect("list");
        let done = rows
            .iter()
            .find(|r| r.event_id == old_done.event_id)
            .expect("row");
        store
            .mark_delivered(done.id, 204, 1)
            .await
            .expect("delivered");
        store.purge_events(2_000).await.expect("purge");
        let left: Vec<String> = store
            .events_after(&inst, 0, 10)
            .await
            .expect("events")
            .into_iter()
            .map(|e| e.event_id)
            .collect();
        assert_eq!(
            left,
            vec![old_pending.event_id.clone(), fresh.event_id.clone()],
            "{b}"
        );
        assert_eq!(
            store
                .list_deliveries(&inst, None, 10)
                .await
                .expect("list")
                .len(),
            1,
            "{b}"
        );
        // Deleting the instance deletes its events and deliveries.
        assert!(store.delete_instance(&inst).await.expect("delete"), "{b}");
        assert!(
            store
                .events_after(&inst, 0, 10)
                .await
                .expect("events")
                .is_empty(),
            "{b}"
        );
    }
}

fn wawp_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Claims up to three due chains and answers the chat of each delivery claimed.
async fn claim_three_chats(store: &Store, now: i64) -> Vec<String> {
    store
        .claim_due_chains(now, 60_000, 3, 10)
        .await
        .expect("claim")
        .into_iter()
        .flatten()
        .map(|d| d.chat_key)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claimers_never_get_the_same_chain() {
    let _serial = CLAIMS.lock().await;
    for Backend { store, .. } in backends("concurrent_claimers").await {
        let b = store.backend();
        let inst = an_instance(&store).await;
        let now = wawp_now();
        let chats: Vec<String> = (0..24).map(|n| format!("{n}@c.us")).collect();
        let events: Vec<NewEvent> = chats
            .iter()
            .map(|chat| event(&inst, Some(chat), &["h"], now))
            .collect();
        store.record_events(&events).await.expect("record");
        let mut claimers = Vec::new();
        for _ in 0..4 {
            let store = store.clone();
            claimers.push(tokio::spawn(async move {
                let mut got = Vec::new();
                for _ in 0..3 {
                    got.extend(claim_three_chats(&store, now).await);
                }
                got
            }));
        }
        let mut all = Vec::new();
        for claimer in claimers {
            all.extend(claimer.await.expect("task"));
        }
        // On PostgreSQL a claim racing others may return fewer chains than it asked for (a row
        // another claimer leased fails the re-check after `SKIP LOCKED`): whatever the racing
        // claims left is claimed now, and the leases must still hold for everything above.
        loop {
            let chats = claim_three_chats(&store, now).await;
            if chats.is_empty() {
                break;
            }
            all.extend(chats);
        }
        let mut unique_chats = all.clone();
        unique_chats.sort();
        unique_chats.dedup();
        assert_eq!(
            unique_chats.len(),
            all.len(),
            "{b}: a chain was handed out twice: {all:?}"
        );
        assert_eq!(all.len(), 24, "{b}: every chain was claimed once");
        assert!(store.delete_instance(&inst).await.expect("cleanup"), "{b}");
    }
}

#[tokio::test]
async fn the_fast_lane_leases_new_chains_in_their_commit() {
    let _serial = CLAIMS.lock().await;
    for Backend { store, .. } in backends("the_fast_lane_leases_new_chains_in_their_commit").await {
        let b = store.backend();
        let Some(mut lane) = store.fast_lane(60_000) else {
            assert_eq!(b, "postgres", "only PostgreSQL has no fast lane");
            continue;
        };
        let inst = an_instance(&store).await;
        let now = wawp_now();
        // Two events of one chat (one chain per webhook) and one of another chat, in one commit.
        let a1 = event(&inst, Some("a@c.us"), &["h1", "h2"], now);
        let a2 = event(&inst, Some("a@c.us"), &["h1"], now);
        let c1 = event(&inst, Some("c@c.us"), &["h1"], now);
        store
            .record_events(&[a1.clone(), a2.clone(), c1.clone()])
            .await
            .expect("record");
        let mut leased = Vec::new();
        while let Ok(chain) = lane.try_recv() {
            leased.push(chain);
        }
        let mut got: Vec<(String, String, Vec<String>)> = leased
            .iter()
            .map(|c| {
                assert!(c.leased_at >= now, "{b}");
                let d = &c.deliveries[0];
                let ids = c.deliveries.iter().map(|d| d.event_id.clone()).collect();
                (d.chat_key.clone(), d.webhook_id.clone(), ids)
            })
            .collect();
        got.sort();
        let chain = |chat: &str, hook: &str, evs: &[&NewEvent]| {
            let ids = evs.iter().map(|e| e.event_id.clone()).collect();
            (chat.to_string(), hook.to_string(), ids)
        };
        assert_eq!(
            got,
            vec![
                chain("a@c.us", "h1", &[&a1, &a2]),
                chain("a@c.us", "h2", &[&a1]),
                chain("c@c.us", "h1", &[&c1]),
            ],
            "{b}"
        );
        // The leased deliveries are what a claim would have given: ids, bodies, attempts.
        let pending = store
            .list_deliveries(&inst, Some("pending"), 10)
            .await
            .expect("pending");
        for c in &leased {
            for d in &c.deliveries {
                assert!(
                    pending
                        .iter()
                        .any(|p| p.id == d.id && p.event_id == d.event_id)
                );
                assert_eq!(d.attempts, 0, "{b}");
                assert_eq!(d.envelope, format!(r#"{{"id":"{}"}}"#, d.event_id), "{b}");
            }
        }
        // Leased: no claim hands them out.
        assert!(claim(&store, now).await.is_empty(), "{b}");

        // A new event of a chain that is still leased waits behind it, out of the lane.
        let a3 = event(&inst, Some("a@c.us"), &["h1"], now);
        store
            .record_events(std::slice::from_ref(&a3))
            .await
            .expect("record");
        assert!(lane.try_recv().is_err(), "{b}");
        assert!(claim(&store, now).await.is_empty(), "{b}");

        // Settling says whether the chain has more: a@c.us/h1 has a3, the others are done.
        let all_delivered = |c: &wawp_store::LeasedChain| -> Vec<Settled> {
            c.deliveries.iter().map(|d| delivered(d.id)).collect()
        };
        for c in &leased {
            let d = &c.deliveries[0];
            let more = store
                .settle_deliveries(&d.chain(), &all_delivered(c))
                .await
                .expect("settle");
            let expect_more = d.chat_key == "a@c.us" && d.webhook_id == "h1";
            assert_eq!(more, expect_more, "{b}: {} {}", d.chat_key, d.webhook_id);
        }
        assert_eq!(
            claim(&store, now).await,
            vec![(a3.event_id.clone(), "h1".to_string())],
            "{b}"
        );
        // A chain that is gone starts again in the lane.
        let c2 = event(&inst, Some("c@c.us"), &["h1"], now);
        store
            .record_events(std::slice::from_ref(&c2))
            .await
            .expect("record");
        let again = lane.try_recv().expect("c@c.us again");
        assert_eq!(again.deliveries.len(), 1, "{b}");
        assert_eq!(again.deliveries[0].event_id, c2.event_id, "{b}");
        assert!(store.delete_instance(&inst).await.expect("cleanup"), "{b}");
    }
}
