//! How list menus, calendar events and poll votes show in the message object (API answers and
//! webhooks). Field names follow the documents' parameters (`rowId`, `startTime`,
//! `extraGuestsAllowed`), so what was sent reads back the same way.

use serde::{Deserialize, Serialize};
use wawp_engine::{EventInfo, List};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ListView {
    pub title: String,
    pub description: String,
    pub footer: String,
    pub button: String,
    pub sections: Vec<ListSectionView>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ListSectionView {
    pub title: String,
    pub rows: Vec<ListRowView>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ListRowView {
    pub title: String,
    #[serde(rename = "rowId")]
    pub row_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventView {
    pub name: String,
    pub description: Option<String>,
    /// Unix seconds.
    #[serde(rename = "startTime")]
    pub start_time: Option<i64>,
    #[serde(rename = "endTime")]
    pub end_time: Option<i64>,
    pub location: Option<EventLocationView>,
    #[serde(rename = "extraGuestsAllowed")]
    pub extra_guests_allowed: bool,
    #[serde(rename = "isCanceled", default)]
    pub canceled: bool,
    /// The latest answer of each guest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub responses: Vec<EventResponseView>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventLocationView {
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventResponseView {
    /// Who answered (`123@c.us`).
    pub from: String,
    /// `GOING`, `NOT_GOING`, `MAYBE`.
    pub response: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PollVoteView {
    /// Who voted (`123@c.us`).
    pub voter: String,
    #[serde(rename = "selectedOptions")]
    pub selected_options: Vec<String>,
}

impl From<&List> for ListView {
    fn from(l: &List) -> Self {
        ListView {
            title: l.title.clone(),
            description: l.description.clone(),
            footer: l.footer.clone(),
            button: l.button.clone(),
            sections: l
                .sections
                .iter()
                .map(|s| ListSectionView {
                    title: s.title.clone(),
                    rows: s
                        .rows
                        .iter()
                        .map(|r| ListRowView {
                            title: r.title.clone(),
                            row_id: r.row_id.clone(),
                            description: r.description.clone(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

impl From<&EventInfo> for EventView {
    fn from(e: &EventInfo) -> Self {
        EventView {
            name: e.name.clone(),
            description: e.description.clone(),
            start_time: e.start_time,
            end_time: e.end_time,
            location: e.location.clone().map(|name| EventLocationView { name }),
            extra_guests_allowed: e.extra_guests_allowed,
            canceled: e.canceled,
            responses: Vec::new(),
        }
    }
}

/// Replaces `voter`'s entry in `votes` (last vote wins); an empty choice withdraws the vote.
pub fn set_vote(votes: &mut Vec<PollVoteView>, voter: &str, selected: &[String]) {
    votes.retain(|v| v.voter != voter);
    if !selected.is_empty() {
        votes.push(PollVoteView {
            voter: voter.to_string(),
            selected_options: selected.to_vec(),
        });
    }
}

/// Replaces `from`'s answer to an event.
pub fn set_response(responses: &mut Vec<EventResponseView>, from: &str, response: &str) {
    responses.retain(|r| r.from != from);
    responses.push(EventResponseView {
        from: from.to_string(),
        response: response.to_string(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_vote_of_each_voter_counts() {
        let mut votes = Vec::new();
        set_vote(&mut votes, "a@c.us", &["Pizza".into()]);
        set_vote(&mut votes, "b@c.us", &["Sushi".into()]);
        set_vote(&mut votes, "a@c.us", &["Sushi".into()]);
        assert_eq!(votes.len(), 2);
        assert!(votes.iter().all(|v| v.selected_options == ["Sushi"]));
        set_vote(&mut votes, "b@c.us", &[]);
        assert_eq!(votes.len(), 1);
    }
}
