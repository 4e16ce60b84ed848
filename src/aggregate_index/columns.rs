//! The index's data: each project's classification and plans, and each indicator's values in
//! compact columns (project, half-year, value), codes and organisationsnummer numbered once.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::domain::period::PeriodId;

/// A code a project does not have (no fokusområde), or no bransch row.
pub(super) const NONE: u32 = u32::MAX;

/// Every text the index holds (codes, indicators, organisationsnummer), numbered once.
#[derive(Default)]
pub(super) struct Names {
    names: Vec<Box<str>>,
    ids: HashMap<Box<str>, u32>,
    bytes: usize,
}

impl Names {
    pub(super) fn id(&mut self, text: &str) -> u32 {
        if let Some(id) = self.ids.get(text) {
            return *id;
        }
        let id = u32::try_from(self.names.len()).expect("fewer than 2^32 names");
        self.names.push(text.into());
        self.ids.insert(text.into(), id);
        self.bytes += 2 * text.len();
        id
    }

    pub(super) fn find(&self, text: &str) -> Option<u32> {
        self.ids.get(text).copied()
    }

    pub(super) fn name(&self, id: u32) -> Option<&str> {
        self.names.get(id as usize).map(|name| &**name)
    }

    fn bytes(&self) -> usize {
        self.bytes
            + self.names.capacity() * size_of::<Box<str>>()
            + self.ids.capacity() * (size_of::<(Box<str>, u32)>() + 1)
    }
}

/// What figures use of a project.
pub(super) struct Project {
    pub id: i64,
    pub region: u32,
    pub project_type: u32,
    pub sakomrade: u32,
    pub fokusomrade: u32,
    pub effektkedja: u32,
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// Beviljat: the amount granted from anslag 1:1.
    pub granted_sek: i64,
    pub total_budget_sek: i64,
    pub branscher: Box<[u32]>,
    /// Each plan's indicator and target.
    pub plans: Box<[(u32, Option<i64>)]>,
}

impl Project {
    fn bytes(&self) -> usize {
        size_of::<Project>()
            + self.branscher.len() * size_of::<u32>()
            + self.plans.len() * size_of::<(u32, Option<i64>)>()
    }
}

/// One indicator's current values, one row each. Rows are never removed (a stored value is
/// only ever overwritten), so a row's number is stable and the sparse parts refer to it.
#[derive(Default)]
pub(super) struct Column {
    /// Index into `Index::projects`.
    pub project: Vec<u32>,
    pub half_year: Vec<u16>,
    pub value: Vec<i64>,
    /// kvinnor, man, ej_angivet of the values reported by sex.
    pub parts: HashMap<u32, [i64; 3]>,
    /// The enterprises of the values that list any.
    pub entities: HashMap<u32, Vec<u32>>,
    /// The row of each (project, half-year), to overwrite a value.
    rows: HashMap<(u32, u16), u32>,
    entity_count: usize,
}

impl Column {
    /// The row of `project`'s value in `half_year`.
    pub(super) fn row_of(&self, project: u32, half_year: u16) -> Option<u32> {
        self.rows.get(&(project, half_year)).copied()
    }

    fn bytes(&self) -> usize {
        self.project.capacity() * size_of::<u32>()
            + self.half_year.capacity() * size_of::<u16>()
            + self.value.capacity() * size_of::<i64>()
            + self.parts.capacity() * (size_of::<(u32, [i64; 3])>() + 1)
            + self.entities.capacity() * (size_of::<(u32, Vec<u32>)>() + 1)
            + self.entity_count * size_of::<u32>()
            + self.rows.capacity() * (size_of::<((u32, u16), u32)>() + 1)
    }
}

/// A project as read from the database, before its texts are numbered.
pub(super) struct ProjectRecord {
    pub id: i64,
    pub region: String,
    pub project_type: String,
    pub sakomrade: String,
    pub fokusomrade: Option<String>,
    pub effektkedja: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub granted_sek: i64,
    pub total_budget_sek: i64,
    pub branscher: Vec<String>,
    pub plans: Vec<(String, Option<i64>)>,
}

/// A value as stored: its indicator, half-year, value, parts and enterprises.
pub(super) struct ValueRecord<'a> {
    pub project_id: i64,
    pub indicator: &'a str,
    pub period: &'a str,
    pub value: i64,
    pub parts: Option<[i64; 3]>,
    pub entities: &'a [String],
}

/// The aggregation facts of one data version.
pub struct Index {
    /// The data version the index holds the data of.
    pub(super) version: i64,
    pub(super) names: Names,
    pub(super) projects: Vec<Project>,
    pub(super) slots: HashMap<i64, u32>,
    pub(super) columns: HashMap<u32, Column>,
    pub(super) values: usize,
}

impl Index {
    pub(super) fn empty(version: i64) -> Index {
        Index {
            version,
            names: Names::default(),
            projects: Vec::new(),
            slots: HashMap::new(),
            columns: HashMap::new(),
            values: 0,
        }
    }

    /// The data version it holds.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// How many values it holds.
    pub fn value_count(&self) -> usize {
        self.values
    }

    /// Adds or replaces a project.
    pub(super) fn put_project(&mut self, record: ProjectRecord) {
        let names = &mut self.names;
        let project = Project {
            id: record.id,
            region: names.id(&record.region),
            project_type: names.id(&record.project_type),
            sakomrade: names.id(&record.sakomrade),
            fokusomrade: record.fokusomrade.as_deref().map_or(NONE, |f| names.id(f)),
            effektkedja: names.id(&record.effektkedja),
            start: record.start,
            end: record.end,
            granted_sek: record.granted_sek,
            total_budget_sek: record.total_budget_sek,
            branscher: record.branscher.iter().map(|b| names.id(b)).collect(),
            plans: record
                .plans
                .iter()
                .map(|(indicator, target)| (names.id(indicator), *target))
                .collect(),
        };
        match self.slots.get(&record.id) {
            Some(slot) => self.projects[*slot as usize] = project,
            None => {
                let slot = u32::try_from(self.projects.len()).expect("fewer than 2^32 projects");
                self.slots.insert(record.id, slot);
                self.projects.push(project);
            }
        }
    }

    /// Adds or overwrites a value. A value of a project or half-year the index does not
    /// know is left out, as the SQL path's join leaves it out.
    pub(super) fn put_value(&mut self, record: ValueRecord<'_>) {
        let (Some(slot), Some(half_year)) = (
            self.slots.get(&record.project_id).copied(),
            PeriodId::parse(record.period).and_then(half_year_code),
        ) else {
            return;
        };
        let indicator = self.names.id(record.indicator);
        let entities: Vec<u32> = record.entities.iter().map(|e| self.names.id(e)).collect();
        let column = self.columns.entry(indicator).or_default();
        let row = match column.rows.get(&(slot, half_year)) {
            Some(row) => {
                column.value[*row as usize] = record.value;
                *row
            }
            None => {
                let row = u32::try_from(column.value.len()).expect("fewer than 2^32 values");
                column.project.push(slot);
                column.half_year.push(half_year);
                column.value.push(record.value);
                column.rows.insert((slot, half_year), row);
                self.values += 1;
                row
            }
        };
        match record.parts {
            Some(parts) => column.parts.insert(row, parts),
            None => column.parts.remove(&row),
        };
        if let Some(earlier) = column.entities.remove(&row) {
            column.entity_count -= earlier.len();
        }
        if !entities.is_empty() {
            column.entity_count += entities.len();
            column.entities.insert(row, entities);
        }
    }

    /// Adds one enterprise to a stored value (while the index is first loaded).
    pub(super) fn add_entity(
        &mut self,
        project_id: i64,
        indicator: &str,
        period: &str,
        orgnr: &str,
    ) {
        let (Some(slot), Some(half_year), Some(indicator)) = (
            self.slots.get(&project_id).copied(),
            PeriodId::parse(period).and_then(half_year_code),
            self.names.find(indicator),
        ) else {
            return;
        };
        let orgnr = self.names.id(orgnr);
        let Some(column) = self.columns.get_mut(&indicator) else {
            return;
        };
        if let Some(row) = column.row_of(slot, half_year) {
            column.entities.entry(row).or_default().push(orgnr);
            column.entity_count += 1;
        }
    }

    /// Gives back what loading reserved beyond its need.
    pub(super) fn shrink(&mut self) {
        self.projects.shrink_to_fit();
        for column in self.columns.values_mut() {
            column.project.shrink_to_fit();
            column.half_year.shrink_to_fit();
            column.value.shrink_to_fit();
            for entities in column.entities.values_mut() {
                entities.shrink_to_fit();
            }
        }
    }

    /// The bytes the index holds, counted from its parts' capacities.
    pub fn bytes(&self) -> usize {
        size_of::<Index>()
            + self.names.bytes()
            + self.projects.capacity() * size_of::<Project>()
            + self
                .projects
                .iter()
                .map(|p| p.bytes() - size_of::<Project>())
                .sum::<usize>()
            + self.slots.capacity() * (size_of::<(i64, u32)>() + 1)
            + self.columns.values().map(Column::bytes).sum::<usize>()
    }
}

/// A half-year as a small number (`2026H1` → 4052), in half-year order.
pub(super) fn half_year_code(period: PeriodId) -> Option<u16> {
    match period {
        PeriodId::HalfYear { year, half } => u16::try_from(year * 2 + i32::from(half) - 1).ok(),
        PeriodId::Year(_) => None,
    }
}

/// The half-year of `half_year_code`.
pub(super) fn half_year_of(code: u16) -> PeriodId {
    PeriodId::HalfYear {
        year: i32::from(code / 2),
        half: (code % 2) as u8 + 1,
    }
}
