//! Messages and chats: every message in and out is kept with its chat, so the API answers from
//! here and survives restarts.

use crate::outbox::{NewEvent, insert_events_in_tx};

use crate::{Store, StoreError, with_pool, write_tx};

/// One stored message. `payload` is a JSON document owned by wawp-core.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct MessageRow {
    pub instance_id: String,
    /// Serialized id (`true_123@c.us_3EB0…`).
    pub id: String,
    /// The bare WhatsApp id (`3EB0…`).
    pub wa_id: String,
    pub chat_id: String,
    pub from_me: i64,
    /// Epoch milliseconds.
    pub timestamp: i64,
    pub ack: i64,
    pub payload: String,
}

/// A text column of `messages` read or written on its own, beside the row. The SQL is spelled out
/// per column so that every statement stays a static string.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Column {
    /// The private media reference (`media_refs.rs`).
    MediaRef,
    /// The poll or event secret (`secrets.rs`).
    Secret,
}

impl Column {
    fn update_sql(self) -> &'static str {
        match self {
            Column::MediaRef => {
                "UPDATE messages SET media_ref = $1 WHERE instance_id = $2 AND id = $3"
            }
            Column::Secret => "UPDATE messages SET secret = $1 WHERE instance_id = $2 AND id = $3",
        }
    }

    fn select_sql(self) -> &'static str {
        match self {
            Column::MediaRef => "SELECT media_ref FROM messages WHERE instance_id = $1 AND id = $2",
            Column::Secret => "SELECT secret FROM messages WHERE instance_id = $1 AND id = $2",
        }
    }
}

/// A message to save, with what it does to its chat.
#[derive(Clone, Debug)]
pub struct NewMessage {
    pub row: MessageRow,
    /// The chat's display name, when the message tells it (a contact's push name).
    pub chat_name: Option<String>,
    /// Incoming and not yet read: counts as unread in its chat.
    pub unread: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ChatRow {
    pub instance_id: String,
    pub id: String,
    pub name: Option<String>,
    pub last_message_id: Option<String>,
    pub last_timestamp: i64,
    pub unread_count: i64,
}

/// How `list_chats` orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChatOrder {
    /// By chat id.
    Id,
    /// By the time of the latest message.
    LastMessage,
    /// By name.
    Name,
}

/// `SELECT <every column> FROM messages <rest>` as one string literal.
macro_rules! select_messages {
    ($rest:literal) => {
        concat!("SELECT instance_id, id, wa_id, chat_id, from_me, timestamp, ack, payload FROM messages ", $rest)
    };
    // The same, with the row lock PostgreSQL needs for a read-modify-write (SQLite's
    // `BEGIN IMMEDIATE` already holds the write lock): `(sqlite, postgres)`.
    ($rest:literal, locked) => {
        (select_messages!($rest), concat!(select_messages!($rest), " FOR UPDATE"))
    };
}

/// Most rows one multi-row statement carries. A row binds at most 11 values, so a statement stays
/// far below the bound-parameter limits (SQLite 32,766, PostgreSQL 65,535).
pub(crate) const ROWS_PER_STATEMENT: usize = 256;

// The statements of message saves, shared by wawp's two writers (see `outbox.rs`): sqlx with
// multi-row `VALUES` on PostgreSQL, rusqlite one row at a time in SQLite's group commit.

/// `INSERT INTO messages`, before its rows.
pub(crate) const INSERT_MESSAGE_HEAD: &str =
    "INSERT INTO messages (instance_id, id, wa_id, chat_id, from_me, timestamp, ack, payload) ";
/// After the rows of [`INSERT_MESSAGE_HEAD`]: a stored message is skipped; new rows answer.
pub(crate) const INSERT_MESSAGE_TAIL: &str =
    " ON CONFLICT (instance_id, id) DO NOTHING RETURNING instance_id, id";
/// `INSERT INTO chats`, before its rows (a [`ChatChange`] each).
pub(crate) const UPSERT_CHAT_HEAD: &str =
    "INSERT INTO chats (instance_id, id, name, last_message_id, last_timestamp, unread_count) ";
/// After the rows of [`UPSERT_CHAT_HEAD`], then [`CHAT_READ`] or [`CHAT_UNREAD`].
pub(crate) const UPSERT_CHAT_CONFLICT: &str = " ON CONFLICT (instance_id, id) DO UPDATE SET \
     name = COALESCE(excluded.name, chats.name), \
     last_message_id = CASE WHEN excluded.last_timestamp >= chats.last_timestamp \
         THEN excluded.last_message_id ELSE chats.last_message_id END, \
     last_timestamp = CASE WHEN excluded.last_timestamp >= chats.last_timestamp \
         THEN excluded.last_timestamp ELSE chats.last_timestamp END, ";
/// The unread count of a chat we read ([`ChatChange::read`]): the messages after ours.
pub(crate) const CHAT_READ: &str = "unread_count = excluded.unread_count";
/// The unread count of a chat we did not read: it grows.
pub(crate) const CHAT_UNREAD: &str = "unread_count = chats.unread_count + excluded.unread_count";

/// Inserts `$messages` (`&[&NewMessage]`, in order) and updates their chats: one multi-row
/// statement per [`ROWS_PER_STATEMENT`] messages, and at most two per as many chats, however many
/// messages a batch carries. Answers, per message, whether it was new: a message already stored
/// (same instance and id), or earlier in the same batch, is not, and changes nothing.
macro_rules! save_in_tx {
    ($tx:ident, $messages:expr) => {{
        let messages: &[&NewMessage] = $messages;
        let mut stored = std::collections::HashSet::<(String, String)>::new();
        for chunk in messages.chunks($crate::messages::ROWS_PER_STATEMENT) {
            let mut insert = sqlx::QueryBuilder::new($crate::messages::INSERT_MESSAGE_HEAD);
            insert.push_values(chunk, |mut row, m| {
                let r = &m.row;
                row.push_bind(&r.instance_id)
                    .push_bind(&r.id)
                    .push_bind(&r.wa_id)
                    .push_bind(&r.chat_id)
                    .push_bind(r.from_me)
                    .push_bind(r.timestamp)
                    .push_bind(r.ack)
                    .push_bind(&r.payload);
            });
            insert.push($crate::messages::INSERT_MESSAGE_TAIL);
            let rows: Vec<(String, String)> = insert
                .build_query_as()
                .fetch_all(&mut *$tx)
                .await
                .map_err(StoreError::from_write)?;
            stored.extend(rows);
        }
        // The first entry of a stored id is the one that was new.
        let fresh: Vec<bool> = messages
            .iter()
            .map(|m| stored.remove(&(m.row.instance_id.clone(), m.row.id.clone())))
            .collect();
        let changes = $crate::messages::ChatChange::of(
            messages
                .iter()
                .zip(&fresh)
                .filter(|(_, new)| **new)
                .map(|(m, _)| *m),
        );
        for (read, tail) in [
            (true, $crate::messages::CHAT_READ),
            (false, $crate::messages::CHAT_UNREAD),
        ] {
            let rows: Vec<&$crate::messages::ChatChange<'_>> =
                changes.iter().filter(|c| c.read == read).collect();
            for chunk in rows.chunks($crate::messages::ROWS_PER_STATEMENT) {
                let mut upsert = sqlx::QueryBuilder::new($crate::messages::UPSERT_CHAT_HEAD);
                upsert.push_values(chunk, |mut row, c| {
                    row.push_bind(c.instance_id)
                        .push_bind(c.chat_id)
                        .push_bind(c.name)
                        .push_bind(c.last_message_id)
                        .push_bind(c.last_timestamp)
                        .push_bind(c.unread);
                });
                upsert.push($crate::messages::UPSERT_CHAT_CONFLICT);
                upsert.push(tail);
                upsert
                    .build()
                    .execute(&mut *$tx)
                    .await
                    .map_err(StoreError::from_write)?;
            }
        }
        fresh
    }};
}

/// What a batch of new messages does to one chat: the row [`save_in_tx!`] upserts, with the same
/// result as applying the messages one by one (the PostgreSQL upsert may not touch a row twice in
/// one statement, so a chat appears once).
pub(crate) struct ChatChange<'a> {
    pub(crate) instance_id: &'a str,
    pub(crate) chat_id: &'a str,
    /// The last push name the batch carries.
    pub(crate) name: Option<&'a str>,
    /// The newest message (the later one on equal timestamps).
    pub(crate) last_message_id: &'a str,
    pub(crate) last_timestamp: i64,
    /// Whether one of the messages is ours: we read the chat then, and the unread count restarts
    /// from the messages after our last one.
    pub(crate) read: bool,
    /// Unread messages (after our last one when `read`).
    pub(crate) unread: i64,
}

impl<'a> ChatChange<'a> {
    pub(crate) fn of(messages: impl Iterator<Item = &'a NewMessage>) -> Vec<ChatChange<'a>> {
        let mut changes: Vec<ChatChange<'a>> = Vec::new();
        let mut index = std::collections::HashMap::<(&str, &str), usize>::new();
        for m in messages {
            let r = &m.row;
            let change = match index.get(&(r.instance_id.as_str(), r.chat_id.as_str())) {
                Some(&at) => &mut changes[at],
                None => {
                    index.insert((&r.instance_id, &r.chat_id), changes.len());
                    changes.push(ChatChange {
                        instance_id: &r.instance_id,
                        chat_id: &r.chat_id,
                        name: None,
                        last_message_id: &r.id,
                        last_timestamp: r.timestamp,
                        read: false,
                        unread: 0,
                    });
                    let last = changes.len() - 1;
                    &mut changes[last]
                }
            };
            if let Some(name) = m.chat_name.as_deref() {
                change.name = Some(name);
            }
            if r.timestamp >= change.last_timestamp {
                change.last_message_id = &r.id;
                change.last_timestamp = r.timestamp;
            }
            if r.from_me != 0 {
                change.read = true;
                change.unread = 0;
            } else if m.unread {
                change.unread += 1;
            }
        }
        changes
    }
}

/// The messages whose ack a receipt raises, locked on PostgreSQL: `(sqlite, postgres)`.
pub(crate) const RAISE_ACK_SELECT: (&str, &str) =
    select_messages!("WHERE instance_id = $1 AND wa_id = $2 AND ack < $3", locked);

/// Sets a message's raised ack and its payload: `(ack, payload, instance, id)`.
pub(crate) const RAISE_ACK_UPDATE: &str =
    "UPDATE messages SET ack = $1, payload = $2 WHERE instance_id = $3 AND id = $4";

/// Inside an open transaction `$tx`: see [`Store::raise_message_ack`] (`$sql` is the backend's
/// [`RAISE_ACK_SELECT`]). Evaluates to the rows that changed. Expanded once per backend.
macro_rules! raise_ack_in_tx {
    ($tx:ident, $sql:expr, $instance:expr, $wa_ids:expr, $ack:expr, $payload_of:expr) => {{
        let (instance_id, ack): (&str, i64) = ($instance, $ack);
        let mut changed = Vec::new();
        for wa_id in $wa_ids.iter() {
            let rows = sqlx::query_as::<_, MessageRow>($sql)
                .bind(instance_id)
                .bind(wa_id)
                .bind(ack)
                .fetch_all(&mut *$tx)
                .await?;
            for mut row in rows {
                row.ack = ack;
                row.payload = $payload_of(&row);
                sqlx::query($crate::messages::RAISE_ACK_UPDATE)
                    .bind(ack)
                    .bind(&row.payload)
                    .bind(instance_id)
                    .bind(&row.id)
                    .execute(&mut *$tx)
                    .await?;
                changed.push(row);
            }
        }
        changed
    }};
}

impl Store {
    /// Saves `messages`, updates their chats and records `events` (with their deliveries) in one
    /// transaction (all or nothing), so an inbound message and its outbox rows commit together
    /// before WhatsApp is acknowledged. Idempotent: a message already stored (same instance and
    /// id) is left as it is and changes nothing, and an event whose `message_id` is such a
    /// message is skipped (the first commit already recorded its event). Returns how many
    /// messages were new.
    pub async fn save_messages(
        &self,
        messages: &[NewMessage],
        events: &[NewEvent],
    ) -> Result<usize, StoreError> {
        if messages.is_empty() && events.is_empty() {
            return Ok(0);
        }
        if let Some(group) = &self.group {
            return group.save(messages, events).await;
        }
        let all: Vec<&NewMessage> = messages.iter().collect();
        Ok(write_tx!(self, tx => {
            let fresh = save_in_tx!(tx, &all);
            let events = events_of_fresh(messages, &fresh, events);
            let _recorded = insert_events_in_tx!(tx, &events);
            fresh.iter().filter(|new| **new).count()
        }))
    }

    /// A message by its serialized id or its bare WhatsApp id.
    pub async fn get_message(
        &self,
        instance_id: &str,
        id: &str,
    ) -> Result<Option<MessageRow>, StoreError> {
        let sql = select_messages!(
            "WHERE instance_id = $1 AND (id = $2 OR wa_id = $2) ORDER BY timestamp DESC LIMIT 1"
        );
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, MessageRow>(sql)
            .bind(instance_id)
            .bind(id)
            .fetch_optional(pool)
            .await?),
        )
    }

    /// A chat's messages, newest first.
    pub async fn list_messages(
        &self,
        instance_id: &str,
        chat_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let sql = select_messages!(
            "WHERE instance_id = $1 AND chat_id = $2 ORDER BY timestamp DESC, id DESC LIMIT $3 OFFSET $4"
        );
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, MessageRow>(sql)
            .bind(instance_id)
            .bind(chat_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await?),
        )
    }

    /// Raises the ack of the instance's messages with these bare ids to `ack` (never lowers it) and
    /// rewrites their payload with `payload_of`, in one write transaction with the rows locked, so
    /// a concurrent [`Store::update_message`] is never lost. Returns the rows that changed.
    pub async fn raise_message_ack(
        &self,
        instance_id: &str,
        wa_ids: &[String],
        ack: i64,
        payload_of: impl Fn(&MessageRow) -> String + Send + Sync + 'static,
    ) -> Result<Vec<MessageRow>, StoreError> {
        if wa_ids.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(group) = &self.group {
            return group
                .raise_ack(instance_id, wa_ids, ack, Box::new(payload_of))
                .await;
        }
        let sql = self.locking(RAISE_ACK_SELECT);
        Ok(write_tx!(self, tx => raise_ack_in_tx!(tx, sql, instance_id, wa_ids, ack, payload_of)))
    }

    /// Rewrites the payload of one message (by serialized or bare id) from its current row, in one
    /// write transaction with the row locked: `change` sees the row as stored and answers the new
    /// payload, or `None` to leave it. Concurrent changes (a receipt's ack, a vote, a reaction)
    /// therefore apply one after the other and none is lost. Returns the row as it now stands, or
    /// `None` when the instance has no such message.
    pub async fn update_message(
        &self,
        instance_id: &str,
        id: &str,
        change: impl FnOnce(&MessageRow) -> Option<String>,
    ) -> Result<Option<MessageRow>, StoreError> {
        let sql = self.locking(select_messages!(
            "WHERE instance_id = $1 AND (id = $2 OR wa_id = $2) ORDER BY timestamp DESC LIMIT 1",
            locked
        ));
        let mut change = Some(change);
        Ok(write_tx!(self, tx => {
            let row = sqlx::query_as::<_, MessageRow>(sql)
                .bind(instance_id)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            match (row, change.take()) {
                (Some(mut row), Some(change)) => {
                    if let Some(payload) = change(&row) {
                        sqlx::query("UPDATE messages SET payload = $1 WHERE instance_id = $2 AND id = $3")
                            .bind(&payload)
                            .bind(instance_id)
                            .bind(&row.id)
                            .execute(&mut *tx)
                            .await?;
                        row.payload = payload;
                    }
                    Some(row)
                }
                _ => None,
            }
        }))
    }

    /// The statement of a `select_messages!(…, locked)` pair for this backend.
    fn locking(&self, (sqlite, postgres): (&'static str, &'static str)) -> &'static str {
        match &self.pool {
            crate::Pool::Sqlite(_) => sqlite,
            crate::Pool::Postgres(_) => postgres,
        }
    }

    /// Sets `column` of one message. Returns false when the instance has no such message.
    pub(crate) async fn set_message_column(
        &self,
        column: Column,
        instance_id: &str,
        id: &str,
        value: &str,
    ) -> Result<bool, StoreError> {
        let sql = column.update_sql();
        let done = with_pool!(self, pool => sqlx::query(sql)
            .bind(value)
            .bind(instance_id)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(done > 0)
    }

    /// `column` of one message; `None` when the message is unknown or the column is empty.
    pub(crate) async fn message_column(
        &self,
        column: Column,
        instance_id: &str,
        id: &str,
    ) -> Result<Option<String>, StoreError> {
        let sql = column.select_sql();
        let found: Option<(Option<String>,)> = with_pool!(self, pool => sqlx::query_as(sql)
            .bind(instance_id)
            .bind(id)
            .fetch_optional(pool)
            .await?);
        Ok(found.and_then(|(v,)| v))
    }

    /// Sets a chat's unread count (0 when read; at least 1 to mark it unread). Returns false when
    /// the chat is unknown.
    pub async fn set_chat_unread(
        &self,
        instance_id: &str,
        chat_id: &str,
        unread: i64,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE chats SET unread_count = $1 WHERE instance_id = $2 AND id = $3";
        let done = with_pool!(self, pool => sqlx::query(sql)
            .bind(unread)
            .bind(instance_id)
            .bind(chat_id)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(done > 0)
    }

    /// The chat's latest messages from others, newest first (to mark them read).
    pub async fn latest_incoming(
        &self,
        instance_id: &str,
        chat_id: &str,
        since_ms: i64,
        limit: i64,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let sql = select_messages!(
            "WHERE instance_id = $1 AND chat_id = $2 AND from_me = 0 AND timestamp >= $3 \
             ORDER BY timestamp DESC LIMIT $4"
        );
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, MessageRow>(sql)
            .bind(instance_id)
            .bind(chat_id)
            .bind(since_ms)
            .bind(limit)
            .fetch_all(pool)
            .await?),
        )
    }

    /// The instance's chats.
    pub async fn list_chats(
        &self,
        instance_id: &str,
        order: ChatOrder,
        descending: bool,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<ChatRow>, StoreError> {
        let column = match order {
            ChatOrder::Id => "id",
            ChatOrder::LastMessage => "last_timestamp",
            ChatOrder::Name => "COALESCE(name, id)",
        };
        let direction = if descending { "DESC" } else { "ASC" };
        let sql = format!(
            "SELECT instance_id, id, name, last_message_id, last_timestamp, unread_count FROM chats \
             WHERE instance_id = $1 ORDER BY {column} {direction}, id {direction} LIMIT $2 OFFSET $3"
        );
        // Safe: `column` and `direction` come from the fixed strings above, never from input.
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, ChatRow>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(instance_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await?),
        )
    }

    pub async fn get_chat(
        &self,
        instance_id: &str,
        chat_id: &str,
    ) -> Result<Option<ChatRow>, StoreError> {
        let sql = "SELECT instance_id, id, name, last_message_id, last_timestamp, unread_count FROM chats \
                   WHERE instance_id = $1 AND id = $2";
        Ok(with_pool!(self, pool => sqlx::query_as::<_, ChatRow>(sql)
            .bind(instance_id)
            .bind(chat_id)
            .fetch_optional(pool)
            .await?))
    }
}

/// `events` without those of messages that were not new (`fresh` is aligned with `messages`): the
/// first commit of a message recorded its events. A message listed twice is new if one of its
/// entries is.
pub(crate) fn events_of_fresh<'a>(
    messages: &[NewMessage],
    fresh: &[bool],
    events: &'a [NewEvent],
) -> Vec<&'a NewEvent> {
    let mut known = std::collections::HashSet::<&str>::new();
    let mut new = std::collections::HashSet::<&str>::new();
    for (m, fresh) in messages.iter().zip(fresh) {
        if *fresh {
            new.insert(m.row.id.as_str());
        } else {
            known.insert(m.row.id.as_str());
        }
    }
    events
        .iter()
        .filter(|e| {
            e.message_id
                .as_deref()
                .is_none_or(|id| new.contains(id) || !known.contains(id))
        })
        .collect()
}
