//! Crash during a burst: a virtual phone writes ~200 messages to a session while a webhook
//! receiver records; wawp (a real child process) is killed with SIGKILL mid-burst and started again
//! on the same data dir. Every message reaches the receiver at least once, and a message delivered
//! twice carries the same event id both times (ARCHITECTURE.md "Events").

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::{ChildWawp, TestEnv, WawpServer, eventually};

const BURST: usize = 200;
/// Kill once the receiver has this many messages: well inside the burst.
const KILL_AFTER: usize = 30;

#[tokio::test]
async fn a_kill_9_mid_burst_loses_no_message_and_keeps_event_ids() {
    let mut env = TestEnv::start().await;
    let me = env.phone("12015550801", "Crash").await;
    let bob = env.phone("12015550802", "Bob").await;
    // The in-process server only made the token; a child process serves from here on.
    let dir = env.wawp.data_dir.clone();
    std::mem::replace(&mut env.wawp, WawpServer::placeholder())
        .stop()
        .await;
    let child = ChildWawp::start(&dir, &env.fakewa.ws_url()).await;
    env.wawp.base = child.base.clone();
    env.wawp.data_dir = dir.clone();
    let id = env.linked_instance(&me).await;
    let hook = env.subscribe(&id, &["message"]).await;

    let sent = AtomicUsize::new(0);
    let burst = async {
        for i in 0..BURST {
            env.fakewa
                .send_text(&bob, &me, &format!("burst {i}"))
                .await
                .expect("bob sends");
            sent.store(i + 1, Ordering::SeqCst);
        }
    };
    let crash = async {
        eventually("the first messages to arrive", || async {
            (hook.of("message").len() >= KILL_AFTER).then_some(())
        })
        .await;
        let at = sent.load(Ordering::SeqCst);
        child.kill().await;
        let restarted = ChildWawp::start(&dir, &env.fakewa.ws_url()).await;
        (at, restarted)
    };
    let ((), (killed_at, restarted)) = tokio::join!(burst, crash);
    eprintln!("wawp killed after {killed_at} of {BURST} sends");
    env.wawp.base = restarted.base.clone();
    env.wait_status(&id, "WORKING").await;

    let expected: BTreeSet<String> = (0..BURST).map(|i| format!("burst {i}")).collect();
    eventually("every burst message at the receiver", || async {
        let bodies: BTreeSet<String> = hook
            .of("message")
            .iter()
            .filter_map(|e| e["payload"]["body"].as_str().map(str::to_string))
            .collect();
        expected.is_subset(&bodies).then_some(())
    })
    .await;

    // A message delivered more than once always comes with the same event id.
    let mut ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in hook.of("message") {
        let message = e["payload"]["id"].as_str().unwrap_or_default().to_string();
        let event = e["id"].as_str().unwrap_or_default().to_string();
        ids.entry(message).or_default().insert(event);
    }
    let split: Vec<_> = ids.iter().filter(|(_, events)| events.len() > 1).collect();
    assert!(
        split.is_empty(),
        "messages told under several event ids: {split:?}"
    );
    assert_eq!(ids.len(), BURST, "one message id per burst message");
    restarted.kill().await;
}
