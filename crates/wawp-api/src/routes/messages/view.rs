//! The message object (the documents' `message` payload) as routes answer it.

use serde::Serialize;
use utoipa::ToSchema;

/// A message: `id` (`{fromMe}_{chatId}_{id}`), `timestamp`, `from`, `fromMe`, `source`, `to`,
/// `participant`, `author`, `body`, `type`, `hasMedia`, `media`, `ack`/`ackName`, `replyTo`, `_data`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = Object, example = json!({
    "id": "true_447441429009@c.us_3EB0C767D26A1D4E7E7F",
    "timestamp": 1759108866, "from": "201012345678@c.us", "fromMe": true, "source": "api",
    "to": "447441429009@c.us", "participant": null, "author": null, "body": "Hi from Wawp",
    "type": "chat", "hasMedia": false, "media": null, "ack": 1, "ackName": "SERVER", "replyTo": null,
    "_data": {"id": {"fromMe": true, "remote": "447441429009@c.us", "id": "3EB0C767D26A1D4E7E7F",
        "_serialized": "true_447441429009@c.us_3EB0C767D26A1D4E7E7F"}, "notifyName": null, "t": 1759108866}
}))]
pub struct MessageObject(pub wawp_core::model::Message);

/// A list of messages.
#[derive(Debug, Serialize, ToSchema)]
#[serde(transparent)]
pub struct MessageList(pub Vec<MessageObject>);
