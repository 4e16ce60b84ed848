//! The index's data: each project's classification and plans, and each indicator's values in
//! compact columns (project, half-year, value), codes and organisationsnummer numbered once.

use chrono::NaiveDate;
// foldhash: the index's keys are its own small numbers, looked up once per value scanned;
// the standard SipHash costs more than the rest of the scan.
use foldhash::{HashMap, HashMapExt};

use super::kept::Kept;
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

    /// How many names there are: every id is below it.
    pub(super) fn count(&self) -> usize {
        self.names.len()
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
}

impl Project {
    fn bytes(&self) -> usize {
        size_of::<Project>() + self.branscher.len() * size_of::<u32>()
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
    parts: HashMap<u32, [i64; 3]>,
    /// The enterprises of the values that list any.
    entities: Stretches<u32>,
    /// Each project's rows, to overwrite a value: the newest is `first[project]`, each
    /// links to the one before in `next`. A project has one row a half-year, so its chain
    /// is short; two numbers a row and a project instead of a hash map entry a row.
    first: Vec<u32>,
    next: Vec<u32>,
    /// Each half-year's rows: a question scans the half-years it asks for, not the column
    /// (the Översikt asks one of ten).
    by_half_year: Vec<(u16, Vec<u32>)>,
}

impl Column {
    /// The row of `project`'s value in `half_year`.
    pub(super) fn row_of(&self, project: u32, half_year: u16) -> Option<u32> {
        let mut row = *self.first.get(project as usize)?;
        while row != NONE {
            if self.half_year[row as usize] == half_year {
                return Some(row);
            }
            row = self.next[row as usize];
        }
        None
    }

    /// The rows of `half_year`'s values.
    pub(super) fn rows_in(&self, half_year: u16) -> &[u32] {
        self.by_half_year
            .iter()
            .find(|(code, _)| *code == half_year)
            .map_or(&[], |(_, rows)| rows)
    }

    /// The parts by sex of the value in `row`, if reported by sex.
    pub(super) fn parts_of(&self, row: usize) -> Option<[i64; 3]> {
        self.parts.get(&(row as u32)).copied()
    }

    /// The enterprises of the value in `row`; `None` when it lists none.
    pub(super) fn entities_of(&self, row: usize) -> Option<&[u32]> {
        self.entities.of(row)
    }

    /// Stores `project`'s value of `half_year`, over the one stored before; true when it
    /// is a new row.
    fn put(
        &mut self,
        project: u32,
        half_year: u16,
        value: i64,
        parts: Option<[i64; 3]>,
        entities: &[u32],
    ) -> bool {
        let (row, new) = match self.row_of(project, half_year) {
            Some(row) => {
                self.value[row as usize] = value;
                (row, false)
            }
            None => {
                let row = u32::try_from(self.value.len()).expect("fewer than 2^32 values");
                self.project.push(project);
                self.half_year.push(half_year);
                self.value.push(value);
                if self.first.len() <= project as usize {
                    self.first.resize(project as usize + 1, NONE);
                }
                self.next.push(self.first[project as usize]);
                self.first[project as usize] = row;
                match self
                    .by_half_year
                    .iter_mut()
                    .find(|(code, _)| *code == half_year)
                {
                    Some((_, rows)) => rows.push(row),
                    None => self.by_half_year.push((half_year, vec![row])),
                }
                (row, true)
            }
        };
        match parts {
            Some(parts) => self.parts.insert(row, parts),
            None => self.parts.remove(&row),
        };
        self.entities.set(row as usize, entities);
        new
    }

    fn bytes(&self) -> usize {
        self.project.capacity() * size_of::<u32>()
            + self.half_year.capacity() * size_of::<u16>()
            + self.value.capacity() * size_of::<i64>()
            + self.parts.capacity() * (size_of::<(u32, [i64; 3])>() + 1)
            + self.entities.bytes()
            + self.first.capacity() * size_of::<u32>()
            + self.next.capacity() * size_of::<u32>()
            + self.by_half_year.capacity() * size_of::<(u16, Vec<u32>)>()
            + self
                .by_half_year
                .iter()
                .map(|(_, rows)| rows.capacity() * size_of::<u32>())
                .sum::<usize>()
    }

    fn shrink(&mut self) {
        self.project.shrink_to_fit();
        self.half_year.shrink_to_fit();
        self.value.shrink_to_fit();
        self.first.shrink_to_fit();
        self.next.shrink_to_fit();
        for (_, rows) in &mut self.by_half_year {
            rows.shrink_to_fit();
        }
        self.entities.shrink();
    }
}

/// Short lists by row (a value's enterprises, a project's plans), all in one list: each
/// row's is a stretch of it. One allocation instead of one a row, and read in row order
/// without a jump a row; a list overwritten leaves its stretch unused until the unused are
/// more than the used, when the list is written anew in row order.
pub(super) struct Stretches<T> {
    /// Each row's stretch of `ids` (start, length); rows past its end have none. Empty
    /// where no row has any.
    spans: Vec<(u32, u32)>,
    ids: Vec<T>,
    unused: usize,
}

impl<T> Default for Stretches<T> {
    fn default() -> Stretches<T> {
        Stretches {
            spans: Vec::new(),
            ids: Vec::new(),
            unused: 0,
        }
    }
}

impl<T: Copy> Stretches<T> {
    /// The list of `row`; `None` when it has none.
    pub(super) fn of(&self, row: usize) -> Option<&[T]> {
        let (start, length) = *self.spans.get(row)?;
        (length > 0).then(|| &self.ids[start as usize..(start + length) as usize])
    }

    /// Gives `row` the list `ids`, instead of the one it had.
    fn set(&mut self, row: usize, ids: &[T]) {
        if ids.is_empty() && self.spans.len() <= row {
            return;
        }
        self.forget(row);
        self.append(row, ids);
    }

    /// Adds one item to `row`'s list.
    fn add(&mut self, row: usize, id: T) {
        if self.spans.len() <= row {
            self.spans.resize(row + 1, (0, 0));
        }
        let (start, length) = self.spans[row];
        if (start + length) as usize == self.ids.len() {
            // Its stretch ends the list (as while loading, a value's enterprises come
            // one after another): it grows in place.
            self.ids.push(id);
            self.spans[row].1 += 1;
        } else {
            let mut ids = self.ids[start as usize..(start + length) as usize].to_vec();
            ids.push(id);
            self.forget(row);
            self.append(row, &ids);
        }
    }

    fn forget(&mut self, row: usize) {
        if let Some(span) = self.spans.get_mut(row) {
            self.unused += span.1 as usize;
            *span = (0, 0);
        }
        if self.unused > self.ids.len() / 2 {
            self.compact();
        }
    }

    fn append(&mut self, row: usize, ids: &[T]) {
        if ids.is_empty() {
            return;
        }
        if self.spans.len() <= row {
            self.spans.resize(row + 1, (0, 0));
        }
        let start = u32::try_from(self.ids.len()).expect("fewer than 2^32 enterprises");
        self.ids.extend_from_slice(ids);
        self.spans[row] = (start, ids.len() as u32);
    }

    /// Writes the list anew without its unused stretches.
    fn compact(&mut self) {
        let mut ids = Vec::with_capacity(self.ids.len() - self.unused);
        for span in &mut self.spans {
            let (start, length) = *span;
            let at = ids.len() as u32;
            ids.extend_from_slice(&self.ids[start as usize..(start + length) as usize]);
            *span = (if length > 0 { at } else { 0 }, length);
        }
        self.ids = ids;
        self.unused = 0;
    }

    fn shrink(&mut self) {
        self.spans.shrink_to_fit();
        self.ids.shrink_to_fit();
    }

    fn bytes(&self) -> usize {
        self.spans.capacity() * size_of::<(u32, u32)>() + self.ids.capacity() * size_of::<T>()
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
    /// Each project's plans (indicator, target), by slot: read for every matched project,
    /// so kept together in slot order rather than behind a pointer each.
    pub(super) plans: Stretches<(u32, Option<i64>)>,
    pub(super) slots: HashMap<i64, u32>,
    pub(super) columns: HashMap<u32, Column>,
    pub(super) values: usize,
    pub(super) kept: Kept,
}

impl Index {
    pub(super) fn empty(version: i64) -> Index {
        Index {
            version,
            names: Names::default(),
            projects: Vec::new(),
            plans: Stretches::default(),
            slots: HashMap::new(),
            columns: HashMap::new(),
            values: 0,
            kept: Kept::default(),
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

    /// Forgets what is kept between questions.
    pub(super) fn forget_kept(&mut self) {
        self.kept.forget();
    }

    /// Adds or replaces a project.
    pub(super) fn put_project(&mut self, record: ProjectRecord) {
        self.forget_kept();
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
        };
        let plans: Vec<(u32, Option<i64>)> = record
            .plans
            .iter()
            .map(|(indicator, target)| (names.id(indicator), *target))
            .collect();
        let slot = match self.slots.get(&record.id) {
            Some(slot) => {
                self.projects[*slot as usize] = project;
                *slot
            }
            None => {
                let slot = u32::try_from(self.projects.len()).expect("fewer than 2^32 projects");
                self.slots.insert(record.id, slot);
                self.projects.push(project);
                slot
            }
        };
        self.plans.set(slot as usize, &plans);
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
        if column.put(slot, half_year, record.value, record.parts, &entities) {
            self.values += 1;
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
            column.entities.add(row as usize, orgnr);
        }
    }

    /// Gives back what loading or a catch-up reserved beyond its need: a vector that grows
    /// doubles, which at a million values holds megabytes for nothing. A
    /// vector that did not grow is left as it is.
    pub(super) fn shrink(&mut self) {
        self.projects.shrink_to_fit();
        self.plans.shrink();
        for column in self.columns.values_mut() {
            column.shrink();
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
            + self.plans.bytes()
            + self.slots.capacity() * (size_of::<(i64, u32)>() + 1)
            + self.columns.values().map(Column::bytes).sum::<usize>()
            + self.kept.bytes()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_found_and_overwritten_by_project_and_half_year() {
        let mut column = Column::default();
        assert!(column.put(3, 10, 1, None, &[]));
        assert!(column.put(0, 10, 2, Some([1, 1, 0]), &[]));
        assert!(column.put(3, 11, 3, None, &[]));
        assert!(!column.put(3, 10, 4, None, &[]), "overwritten");
        assert_eq!(column.row_of(3, 10), Some(0));
        assert_eq!(column.row_of(3, 11), Some(2));
        assert_eq!(column.row_of(0, 10), Some(1));
        assert_eq!(column.row_of(0, 11), None);
        assert_eq!(column.row_of(1, 10), None, "no rows of that project");
        assert_eq!(column.row_of(9, 10), None, "a project the column never met");
        assert_eq!(column.value, [4, 2, 3]);
        assert_eq!(
            column.rows_in(10),
            [0, 1],
            "an overwritten row is listed once"
        );
        assert_eq!(column.rows_in(11), [2]);
        assert_eq!(column.rows_in(12), [] as [u32; 0]);
        assert_eq!(column.parts_of(1), Some([1, 1, 0]));
        assert!(!column.put(0, 10, 2, None, &[]));
        assert_eq!(column.parts_of(1), None, "no longer by sex");
    }

    #[test]
    fn enterprises_are_replaced_added_and_compacted() {
        let mut entities = Stretches::default();
        entities.set(2, &[]);
        assert_eq!(entities.of(2), None);
        entities.set(0, &[7, 8]);
        entities.add(1, 5);
        entities.add(1, 6);
        assert_eq!(entities.of(0), Some(&[7, 8][..]));
        assert_eq!(entities.of(1), Some(&[5, 6][..]));
        entities.add(0, 9);
        assert_eq!(entities.of(0), Some(&[7, 8, 9][..]), "moved to the end");
        entities.set(1, &[4]);
        entities.set(0, &[]);
        assert_eq!(entities.of(0), None);
        assert_eq!(entities.of(1), Some(&[4][..]));
        assert!(
            entities.ids.len() <= 2 * (entities.ids.len() - entities.unused),
            "the unused are never more than the used"
        );
        entities.set(1, &[]);
        assert_eq!(entities.of(1), None);
        assert_eq!(entities.of(5), None, "past the last row");
    }
}
