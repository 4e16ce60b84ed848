//! The groups of an answer: every active matched project belongs to its groups, reported or
//! not, and a group's key follows `group_by`.

use std::collections::{BTreeMap, BTreeSet};

use super::Row;
use super::facts::Membership;
use super::measure::{self, Members, Reported};
use super::question::{GroupBy, Question, SEXES};
use crate::domain::period::PeriodId;

/// A group's codes in `group_by` order; `None` is a project without that code.
pub type Key = Vec<Option<String>>;

/// The group key from a group's project attributes, period bucket and sex (an index into
/// `SEXES`).
pub fn key_of(
    question: &Question,
    attributes: &[Option<String>],
    bucket: Option<PeriodId>,
    sex: Option<usize>,
) -> Key {
    let mut attributes = attributes.iter();
    question
        .group_by
        .iter()
        .map(|dimension| match dimension {
            GroupBy::Period => bucket.map(|b| b.to_string()),
            GroupBy::Sex => sex.map(|i| SEXES[i].to_string()),
            _ => attributes.next().cloned().flatten(),
        })
        .collect()
}

/// The sexes a question splits into: each part, or the whole (`None`).
pub fn sexes_of(question: &Question) -> Vec<Option<usize>> {
    if question.group_by.contains(&GroupBy::Sex) {
        (0..SEXES.len()).map(Some).collect()
    } else {
        vec![None]
    }
}

/// The members of every group.
pub fn member_groups(question: &Question, memberships: &[Membership]) -> BTreeMap<Key, Members> {
    let mut groups: BTreeMap<Key, Members> = BTreeMap::new();
    let shows_targets = question.shows_targets();
    for membership in memberships {
        for sex in sexes_of(question) {
            let members = groups
                .entry(key_of(
                    question,
                    &membership.attributes,
                    membership.bucket,
                    sex,
                ))
                .or_default();
            members.projects += membership.projects;
            members.field += membership.field;
            members.granted += membership.granted;
            if shows_targets {
                members.target = membership.target;
            }
        }
    }
    groups
}

/// One row per group that has members or reported values, in key order; without grouping,
/// always the one row.
pub fn rows(
    question: &Question,
    members: &BTreeMap<Key, Members>,
    reported: &BTreeMap<Key, Reported>,
) -> Vec<Row> {
    let mut keys: BTreeSet<&Key> = members.keys().chain(reported.keys()).collect();
    let nothing = Key::new();
    if question.group_by.is_empty() {
        keys.insert(&nothing);
    }
    let no_members = Members::default();
    keys.into_iter()
        .map(|key| {
            measure::row(
                question,
                key.clone(),
                members.get(key).unwrap_or(&no_members),
                reported.get(key),
            )
        })
        .collect()
}
