//! A region's report for a half-year and the transitions between its states: the region
//! signs it off, Tillväxtverket accepts it or returns it with a reason.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportState {
    /// Being reported (the default).
    Open,
    /// Signed off by the region: its data of the half-year is locked for it.
    Submitted,
    /// Accepted by Tillväxtverket.
    Accepted,
    /// Sent back with a reason: the region may change data and sign off anew.
    Returned,
}

impl ReportState {
    pub const ALL: [ReportState; 4] = [
        ReportState::Open,
        ReportState::Submitted,
        ReportState::Accepted,
        ReportState::Returned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportState::Open => "open",
            ReportState::Submitted => "submitted",
            ReportState::Accepted => "accepted",
            ReportState::Returned => "returned",
        }
    }

    pub fn parse(text: &str) -> Option<ReportState> {
        ReportState::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether the region's writes of the half-year's values and narratives are refused.
    pub fn locks_region(self) -> bool {
        matches!(self, ReportState::Submitted | ReportState::Accepted)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Transition {
    Submit,
    Withdraw,
    Accept,
    Return,
}

/// Who may make a transition: the region of the report (or an admin), or Tillväxtverket
/// (national, or an admin).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Region,
    National,
}

impl Transition {
    pub const ALL: [Transition; 4] = [
        Transition::Submit,
        Transition::Withdraw,
        Transition::Accept,
        Transition::Return,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Transition::Submit => "submit",
            Transition::Withdraw => "withdraw",
            Transition::Accept => "accept",
            Transition::Return => "return",
        }
    }

    /// The states it may start from.
    pub fn from_states(self) -> &'static [ReportState] {
        match self {
            Transition::Submit => &[ReportState::Open, ReportState::Returned],
            Transition::Withdraw | Transition::Accept => &[ReportState::Submitted],
            Transition::Return => &[ReportState::Submitted, ReportState::Accepted],
        }
    }

    pub fn to(self) -> ReportState {
        match self {
            Transition::Submit => ReportState::Submitted,
            Transition::Withdraw => ReportState::Open,
            Transition::Accept => ReportState::Accepted,
            Transition::Return => ReportState::Returned,
        }
    }

    pub fn party(self) -> Party {
        match self {
            Transition::Submit | Transition::Withdraw => Party::Region,
            Transition::Accept | Transition::Return => Party::National,
        }
    }

    /// Whether a return's reason is needed: a report goes back only with one.
    pub fn needs_comment(self) -> bool {
        self == Transition::Return
    }
}

/// The transitions that can be made from `state` (by their party).
pub fn allowed_from(state: ReportState) -> Vec<Transition> {
    Transition::ALL
        .into_iter()
        .filter(|t| t.from_states().contains(&state))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transitions_of_a_reporting_round() {
        use ReportState::*;
        use Transition::*;
        assert_eq!(allowed_from(Open), [Submit]);
        assert_eq!(allowed_from(Submitted), [Withdraw, Accept, Return]);
        assert_eq!(allowed_from(Accepted), [Return], "reopening");
        assert_eq!(allowed_from(Returned), [Submit]);
        for transition in Transition::ALL {
            for from in transition.from_states() {
                assert_ne!(*from, transition.to(), "{transition:?} changes the state");
            }
        }
        assert_eq!(Submit.party(), Party::Region);
        assert_eq!(Return.party(), Party::National);
        assert!(Return.needs_comment() && !Accept.needs_comment());
        assert!(Submitted.locks_region() && Accepted.locks_region());
        assert!(!Open.locks_region() && !Returned.locks_region());
        for state in ReportState::ALL {
            assert_eq!(ReportState::parse(state.as_str()), Some(state));
        }
    }
}
