//! App-state patches: stored per account with versions, `server_sync` to sibling companions.

use wacore::types::events::Event;
use wacore_binary::Jid;

use crate::common::{link_by_qr, start_fake};

#[tokio::test]
async fn a_pin_on_one_companion_reaches_its_sibling() {
    let fake = start_fake().await;
    fake.create_phone("15557770001", "Lou")
        .await
        .expect("phone");
    fake.create_phone("15557770002", "Max").await.expect("peer");
    let one = link_by_qr(&fake, "15557770001").await;
    let mut two = link_by_qr(&fake, "15557770001").await;
    let peer = Jid::pn("15557770002");
    one.client
        .chat_actions()
        .pin_chat(&peer)
        .await
        .expect("pin");
    let pinned = two
        .wait_for("the sibling's pin", |e| match e {
            Event::PinUpdate(p) if p.jid.user == "15557770002" => Some(p.action.pinned),
            _ => None,
        })
        .await;
    assert_eq!(pinned, Some(true));
    fake.shutdown().await;
}
