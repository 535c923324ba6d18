//! Comtrade's classification reference lists: every code of a classification
//! (HS, its vintages H0..H6, SITC, BEC, EBOPS), its text, parent and level.
//!
//! Where they are (no key needed):
//! - **v1**: `GET /files/v1/app/reference/{cl}.json`, `{more,
//!   minimumInputLength, classCode, className, results: [{id, text, parent,
//!   isLeaf, aggrLevel, standardUnitAbbr}]}` (`HS.json` is 8,262 codes: the
//!   total, 98 chapters, 1,266 headings, 6,897 subheadings of every vintage);
//! - **legacy** (seed 004: "full classification code list in JSON, formatted
//!   for select2.js"): `GET /Data/cache/classification{cl}.json`, `{more,
//!   results: [{id, text, parent}]}`, which starts with the query shortcuts
//!   `ALL`, `AG2`, `AG4`, `AG6` (dropped here: they are not codes).
//!
//! A text starts with its code ("0101 - Horses, asses, mules and hinnies;
//! live"); a subheading's text can repeat its heading only in part ("010119 -
//! Horses :-- Other", "010110 - -  Pure-bred breeding animals"), so each
//! code also gets a `description` that reads on its own: such a text is put
//! after its parent's description. Search folds case and accents and matches
//! words by their beginning, and digits by code prefix.

use std::collections::HashMap;

use serde::Deserialize;

use crate::countries::ComtradeDialect;
use crate::error::Error;
use crate::sources::http::{decode, strip_bom, UpstreamRequest};
use crate::sources::Source;

/// The classification a commodity argument means when none is given.
pub const DEFAULT_CLASSIFICATION: &str = "HS";

/// One code of a classification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommodityRecord {
    /// "TOTAL", "87", "8704", "870431".
    pub code: String,
    /// The list it comes from ("HS", "H6", "S4"...).
    pub classification: String,
    /// Comtrade's own text, without the code in front.
    pub text: String,
    /// The text made to read on its own.
    pub description: String,
    /// 0 for the total; for HS 2, 4 or 6 (the digits of the code); in
    /// EBOPS, whose codes do not nest by their digits ("206", sea
    /// transport, is below "205", transportation), the depth below the
    /// total (see [`levels_by_depth`]).
    pub level: u8,
    /// `None` for the total (Comtrade's "#").
    pub parent: Option<String>,
    pub is_leaf: bool,
    /// The unit Comtrade reports quantities in for this code ("kg", "u");
    /// `None` where it says "n/a".
    pub quantity_unit: Option<String>,
}

/// One classification's list, indexed.
#[derive(Debug, Default)]
pub struct CommodityList {
    classification: String,
    /// Rows of Comtrade's file left out as inconsistent (see [`validate`]).
    dropped: usize,
    /// Rows whose code is not a code, rows repeating a code, and rows
    /// whose parent the list does not have (kept, without a parent).
    malformed: usize,
    duplicates: usize,
    orphans: usize,
    /// The first of them, "266X under 9Z" (for the message).
    first_orphan: Option<String>,
    /// What of the upstream's list was left out, in a sentence, when
    /// anything was: said to the clients of the fields that list codes.
    left_out: Option<String>,
    records: Vec<CommodityRecord>,
    index: HashMap<String, usize>,
    children: Vec<Vec<usize>>,
    /// Each record's folded description and text, for search.
    folded: Vec<String>,
}

/// What `commodities(...)` asks of a list.
#[derive(Clone, Debug, Default)]
pub struct CommoditySearch {
    /// Words of the description (any case, accents folded) and code
    /// prefixes (digits); every one must match.
    pub search: Option<String>,
    /// Exactly these codes.
    pub codes: Option<Vec<String>>,
    pub level: Option<u8>,
}

/// A page of a search.
#[derive(Debug)]
pub struct CommodityMatches<'a> {
    pub total: usize,
    pub items: Vec<&'a CommodityRecord>,
}

impl CommodityList {
    /// The list of `classification` from its entries, in the order
    /// Comtrade lists them (parents before their children).
    pub fn new(classification: &str, entries: Vec<ReferenceCode>) -> Self {
        let mut records: Vec<CommodityRecord> = Vec::with_capacity(entries.len());
        let mut index: HashMap<String, usize> = HashMap::with_capacity(entries.len());
        let (mut malformed, mut duplicates) = (0, 0);
        let by_depth = levels_by_depth(classification);
        let is_hs = {
            let upper = classification.to_ascii_uppercase();
            upper == "HS" || (upper.len() == 2 && upper.starts_with('H'))
        };
        // Rows whose level Comtrade did not say, to be found by depth.
        let mut unsaid: Vec<usize> = Vec::new();
        for entry in entries {
            let code = entry.id.trim().to_owned();
            if is_shortcut(&code) {
                continue;
            }
            // A code is letters and digits, dotted in EBOPS ("10.1.1"):
            // anything else ("01&partnerCode=999", "0190,0191") would be
            // sent upstream as more than one code, or as a parameter.
            // HS, SITC and BEC codes are digits ("H4" is no code of HS),
            // and HS's are chapters, headings and subheadings: 2, 4 or 6
            // digits (a 12-digit row is no HS code).
            let total = code.eq_ignore_ascii_case("TOTAL");
            let digits = total || code.bytes().all(|byte| byte.is_ascii_digit());
            let hs_length = total || !is_hs || [2, 4, 6].contains(&code.len());
            if !is_code(&code) || !(by_depth || (digits && hs_length)) {
                malformed += 1;
                continue;
            }
            if index.contains_key(&code) {
                duplicates += 1;
                continue;
            }
            let text = text_after_code(&code, &entry.text);
            let parent = entry
                .parent
                .map(|parent| parent.trim().to_owned())
                // A row its own parent is kept as written: `validate`
                // drops it (its parent is not of a lower level).
                // "#" is Comtrade's root; EBOPS 2002's list writes one
                // parent as the text "NULL".
                .filter(|parent| {
                    !parent.is_empty() && parent != "#" && !parent.eq_ignore_ascii_case("NULL")
                });
            if entry.level.is_none() && by_depth {
                unsaid.push(records.len());
            }
            let level = entry.level.unwrap_or_else(|| level_of(&code));
            index.insert(code.clone(), records.len());
            records.push(CommodityRecord {
                code,
                classification: classification.to_owned(),
                description: String::new(),
                text,
                level,
                parent,
                is_leaf: entry.is_leaf.unwrap_or(false),
                quantity_unit: entry
                    .unit
                    .map(|unit| unit.trim().to_owned())
                    .filter(|unit| !unit.is_empty() && !unit.eq_ignore_ascii_case("n/a")),
            });
        }
        let orphaned: Vec<&CommodityRecord> = records
            .iter()
            .filter(|record| {
                record
                    .parent
                    .as_ref()
                    .is_some_and(|parent| !index.contains_key(parent))
            })
            .collect();
        let orphans = orphaned.len();
        let first_orphan = orphaned.first().map(|record| {
            // The parent as the file wrote it, cut short: it is not
            // checked to be a code.
            let parent: String = record
                .parent
                .as_deref()
                .unwrap_or_default()
                .chars()
                .take(32)
                .collect();
            format!("{} under {parent}", record.code)
        });
        for position in unsaid {
            records[position].level = depth(position, &records, &index);
        }
        let dropped = validate(&mut records, &mut index, by_depth);
        if dropped.rows > 0 {
            tracing::warn!(
                classification,
                dropped = dropped.rows,
                example = dropped.example.as_deref().unwrap_or_default(),
                "comtrade reference list: rows dropped as inconsistent"
            );
        }
        let mut children = vec![Vec::new(); records.len()];
        for (position, record) in records.iter().enumerate() {
            if let Some(parent) = record.parent.as_ref().and_then(|p| index.get(p)) {
                children[*parent].push(position);
            }
        }
        // Without Comtrade's isLeaf (the legacy lists), a leaf is a code
        // without children.
        for (position, record) in records.iter_mut().enumerate() {
            if !record.is_leaf && children[position].is_empty() && record.code != "TOTAL" {
                record.is_leaf = true;
            }
        }
        // Descriptions: parents come first in Comtrade's lists, but a list
        // in another order is described the same: resolve parents first.
        let mut described: Vec<Option<String>> = vec![None; records.len()];
        for position in 0..records.len() {
            describe(position, &records, &index, &mut described, 0);
        }
        for (record, description) in records.iter_mut().zip(described) {
            record.description = description.unwrap_or_else(|| record.text.clone());
        }
        let folded = records
            .iter()
            .map(|record| fold(&format!("{} {}", record.description, record.text)))
            .collect();
        Self {
            classification: classification.to_owned(),
            dropped: dropped.rows,
            malformed,
            duplicates,
            orphans,
            first_orphan,
            left_out: None,
            records,
            index,
            children,
            folded,
        }
    }

    pub fn classification(&self) -> &str {
        &self.classification
    }

    /// Rows of the upstream file left out as inconsistent (a parent of a
    /// level not above the row's, a level that is not the code's length, a
    /// cycle of parents).
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// What of the upstream's list was left out (unreadable or
    /// inconsistent rows), in a sentence; `None` when nothing was.
    pub fn left_out(&self) -> Option<&str> {
        self.left_out.as_deref()
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The levels the list has codes of, lowest first (HS: 0, 2, 4, 6).
    pub fn levels(&self) -> Vec<u8> {
        let mut levels: Vec<u8> = self.records.iter().map(|record| record.level).collect();
        levels.sort_unstable();
        levels.dedup();
        levels
    }

    /// Every code, in list order.
    pub fn records(&self) -> &[CommodityRecord] {
        &self.records
    }

    /// The record of `code` (as Comtrade writes it; "8704.31" and " 870431"
    /// are read as "870431").
    pub fn get(&self, code: &str) -> Option<&CommodityRecord> {
        self.position(code).map(|position| &self.records[position])
    }

    /// Where `code` is in [`Self::records`]: as the list writes it (EBOPS's
    /// "10.1.1"), or as tariff schedules write HS ("8704.31" is 870431; see
    /// [`normalize_code`]).
    pub fn position(&self, code: &str) -> Option<usize> {
        self.index.get(&normalize_code(code)).copied()
    }

    /// The record's parent.
    pub fn parent(&self, record: &CommodityRecord) -> Option<&CommodityRecord> {
        record.parent.as_deref().and_then(|parent| self.get(parent))
    }

    /// The codes directly below `code`, in list order.
    pub fn children(&self, code: &str) -> Vec<&CommodityRecord> {
        self.position(code)
            .map(|position| {
                self.children[position]
                    .iter()
                    .map(|&child| &self.records[child])
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The leaves at or below `code` (for HS: its six-digit subheadings).
    pub fn leaves(&self, code: &str) -> Vec<&CommodityRecord> {
        let Some(start) = self.position(code) else {
            return Vec::new();
        };
        let mut leaves = Vec::new();
        let mut stack = vec![start];
        // The list is a tree once validated (every parent a level above its
        // child); the visited marks keep the walk finite whatever the list.
        let mut visited = vec![false; self.records.len()];
        while let Some(position) = stack.pop() {
            if std::mem::replace(&mut visited[position], true) {
                continue;
            }
            let below = &self.children[position];
            if below.is_empty() {
                leaves.push(&self.records[position]);
            }
            stack.extend(below.iter().rev());
        }
        leaves
    }

    /// The most children one code has (for the cost model's list bound).
    pub fn most_children(&self) -> usize {
        self.children.iter().map(Vec::len).max().unwrap_or(0)
    }

    /// The codes `search` matches, in list order, `offset` skipped and at
    /// most `limit` kept; `total` counts them all.
    pub fn search(
        &self,
        search: &CommoditySearch,
        limit: usize,
        offset: usize,
    ) -> CommodityMatches<'_> {
        let terms: Vec<Term> = search.search.as_deref().map(terms).unwrap_or_default();
        let codes: Option<Vec<String>> = search
            .codes
            .as_ref()
            .map(|codes| codes.iter().map(|code| normalize_code(code)).collect());
        let mut total = 0;
        let mut items = Vec::new();
        for (position, record) in self.records.iter().enumerate() {
            let matches = search.level.is_none_or(|level| record.level == level)
                && codes
                    .as_ref()
                    .is_none_or(|codes| codes.contains(&record.code))
                && terms
                    .iter()
                    .all(|term| term.matches(record, &self.folded[position]));
            if !matches {
                continue;
            }
            if total >= offset && items.len() < limit {
                items.push(record);
            }
            total += 1;
        }
        CommodityMatches { total, items }
    }
}

/// One word of a search: a code prefix (digits), a dotted number (EBOPS
/// writes "10.1.1" as a code, EBOPS 2002 as the start of its text, "1.1
/// Sea transport"), or the beginning of a word of the description.
enum Term {
    CodePrefix(String),
    Dotted(String),
    Word(String),
}

impl Term {
    fn matches(&self, record: &CommodityRecord, folded: &str) -> bool {
        match self {
            Self::CodePrefix(prefix) => record.code.starts_with(prefix.as_str()),
            Self::Dotted(number) => {
                record.code.starts_with(number.as_str())
                    || record
                        .text
                        .strip_prefix(number.as_str())
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '.']))
            }
            Self::Word(word) => folded
                .split(' ')
                .any(|candidate| candidate.starts_with(word.as_str())),
        }
    }
}

fn terms(search: &str) -> Vec<Term> {
    let mut terms = Vec::new();
    for raw in search.split_whitespace() {
        // "8704.31" and "85.01" are codes as the nomenclature writes them;
        // any other dot is the number's own ("1.1" is not chapter 11).
        let code = normalize_code(raw);
        if !code.is_empty() && code.chars().all(|c| c.is_ascii_digit()) {
            terms.push(Term::CodePrefix(code));
            continue;
        }
        if code.contains('.') && is_code(&code) {
            terms.push(Term::Dotted(code));
            continue;
        }
        for word in fold(raw).split(' ').filter(|word| !word.is_empty()) {
            terms.push(Term::Word(word.to_owned()));
        }
    }
    terms
}

/// Lower case, accents folded to their base letters, everything but
/// letters and digits a single space.
pub fn fold(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    let mut space = true;
    for c in text.chars() {
        let base: Option<&str> = match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä'
            | 'Å' | 'Ā' | 'Ă' | 'Ą' => Some("a"),
            'æ' | 'Æ' => Some("ae"),
            'ç' | 'ć' | 'č' | 'Ç' | 'Ć' | 'Č' => Some("c"),
            'ď' | 'đ' | 'Ď' | 'Đ' => Some("d"),
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' | 'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ė'
            | 'Ę' | 'Ě' => Some("e"),
            'ğ' | 'Ğ' => Some("g"),
            'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' | 'Ì' | 'Í' | 'Î' | 'Ï' | 'Ī' | 'Į' | 'İ' => {
                Some("i")
            }
            'ł' | 'ľ' | 'ĺ' | 'Ł' | 'Ľ' | 'Ĺ' => Some("l"),
            'ñ' | 'ń' | 'ň' | 'Ñ' | 'Ń' | 'Ň' => Some("n"),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø'
            | 'Ō' | 'Ő' => Some("o"),
            'œ' | 'Œ' => Some("oe"),
            'ŕ' | 'ř' | 'Ŕ' | 'Ř' => Some("r"),
            'ś' | 'š' | 'ş' | 'Ś' | 'Š' | 'Ş' => Some("s"),
            'ß' => Some("ss"),
            'ť' | 'ţ' | 'Ť' | 'Ţ' => Some("t"),
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' | 'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ū' | 'Ů'
            | 'Ű' | 'Ų' => Some("u"),
            'ý' | 'ÿ' | 'Ý' | 'Ÿ' => Some("y"),
            'ź' | 'ż' | 'ž' | 'Ź' | 'Ż' | 'Ž' => Some("z"),
            _ => None,
        };
        if let Some(base) = base {
            folded.push_str(base);
            space = false;
        } else if c.is_alphanumeric() {
            folded.extend(c.to_lowercase());
            space = false;
        } else if !space {
            folded.push(' ');
            space = true;
        }
    }
    if folded.ends_with(' ') {
        folded.pop();
    }
    folded
}

/// What [`validate`] left out.
#[derive(Default)]
struct Dropped {
    rows: usize,
    example: Option<String>,
}

/// Whether a classification's levels are the depths of its codes in the
/// tree rather than their digits: EBOPS numbers its items in sequence
/// ("200" the total, "205" transportation, "206" sea transport below it;
/// EBOPS 2010's "10.1.1" is three levels below "10" only by its parents).
fn levels_by_depth(classification: &str) -> bool {
    classification.to_ascii_uppercase().starts_with("EB")
}

/// How many parents are above the row at `position` (0 for a row with no
/// parent the list has); a row on a cycle of parents gets `u8::MAX`, which
/// [`validate`] drops (its parent is then not of a lower level).
fn depth(position: usize, records: &[CommodityRecord], index: &HashMap<String, usize>) -> u8 {
    let mut at = position;
    for steps in 0..records.len().min(usize::from(u8::MAX)) {
        match records[at]
            .parent
            .as_ref()
            .and_then(|parent| index.get(parent))
        {
            Some(&above) if above != position => at = above,
            Some(_) => return u8::MAX,
            None => return steps as u8,
        }
    }
    u8::MAX
}

/// Makes the rows a tree, so that no walk over parents or children can
/// loop, whatever Comtrade's file says (a hand-edited mirror, a truncated
/// download, a bug upstream): a row whose level is not its code's length
/// (digit codes of HS, SITC and BEC: "0101" is level 4) is dropped; a parent the list does not
/// have is no parent; a row whose parent is not of a lower level is
/// dropped (a self-parent, a cycle "A parent B, B parent A": one of any
/// cycle's rows always points at a level not below its own). What is
/// dropped is counted; the rows left are re-indexed.
fn validate(
    records: &mut Vec<CommodityRecord>,
    index: &mut HashMap<String, usize>,
    by_depth: bool,
) -> Dropped {
    let mut dropped = Dropped::default();
    let drop_row = |record: &CommodityRecord, why: &str, dropped: &mut Dropped| {
        dropped.rows += 1;
        if dropped.example.is_none() {
            dropped.example = Some(format!("{}: {why}", record.code));
        }
    };
    let mut keep = vec![true; records.len()];
    for (position, record) in records.iter().enumerate() {
        let digits = record.code.chars().all(|c| c.is_ascii_digit());
        let consistent = if record.code.eq_ignore_ascii_case("TOTAL") {
            record.level == 0
        } else {
            by_depth || !digits || usize::from(record.level) == record.code.len()
        };
        if !consistent {
            keep[position] = false;
            drop_row(
                record,
                &format!("level {} is not the code's length", record.level),
                &mut dropped,
            );
        }
    }
    for position in 0..records.len() {
        if !keep[position] {
            continue;
        }
        let Some(parent) = records[position].parent.clone() else {
            continue;
        };
        match index.get(&parent).copied() {
            None => records[position].parent = None,
            Some(above) if !keep[above] => records[position].parent = None,
            Some(above) if records[above].level >= records[position].level => {
                keep[position] = false;
                let why = format!(
                    "its parent {parent} is of level {}, not above its {}",
                    records[above].level, records[position].level
                );
                drop_row(&records[position], &why, &mut dropped);
            }
            Some(_) => {}
        }
    }
    if dropped.rows == 0 {
        return dropped;
    }
    let mut position = 0;
    records.retain(|_| {
        let kept = keep[position];
        position += 1;
        kept
    });
    index.clear();
    for (position, record) in records.iter().enumerate() {
        index.insert(record.code.clone(), position);
    }
    // A parent dropped above is no parent (its children keep their place,
    // directly below the total's level).
    for record in records.iter_mut() {
        if record
            .parent
            .as_ref()
            .is_some_and(|parent| !index.contains_key(parent))
        {
            record.parent = None;
        }
    }
    dropped
}

/// `describe`'s depth guard: HS has four levels, SITC six.
const MOST_LEVELS: usize = 12;

/// The description of `position`, its parent's resolved first.
fn describe(
    position: usize,
    records: &[CommodityRecord],
    index: &HashMap<String, usize>,
    described: &mut [Option<String>],
    depth: usize,
) -> String {
    if let Some(done) = &described[position] {
        return done.clone();
    }
    let record = &records[position];
    let cleaned = cleaned(&record.text);
    let parent = record
        .parent
        .as_ref()
        .and_then(|parent| index.get(parent))
        .copied()
        .filter(|&parent| records[parent].code != "TOTAL" && depth < MOST_LEVELS);
    let description = match parent {
        Some(parent) if reads_only_beside_parent(&record.text) => {
            let above = describe(parent, records, index, described, depth + 1);
            format!("{above} - {cleaned}")
        }
        _ => cleaned,
    };
    described[position] = Some(description.clone());
    description
}

/// Whether a text repeats its parent only in part: it starts with dashes
/// ("-  Pure-bred breeding animals") or names the parent's subject and then
/// its own part after ":-" ("Horses :-- Other"), or is just "Other".
fn reads_only_beside_parent(text: &str) -> bool {
    let trimmed = text.trim();
    trimmed.starts_with('-')
        || trimmed.contains(":-")
        || matches!(
            trimmed
                .trim_end_matches(['.', ':'])
                .to_ascii_lowercase()
                .as_str(),
            "other" | "others" | "n.e.s" | "nes"
        )
}

/// A text without its dashes: "Horses :-- Other" is "Horses: Other", "- -
/// Pure-bred breeding animals" is "Pure-bred breeding animals".
fn cleaned(text: &str) -> String {
    let mut text = text.trim().trim_start_matches(['-', ' ']).to_owned();
    while let Some(at) = text.find(":-") {
        let end = text[at + 1..]
            .find(|c: char| c != '-' && c != ' ')
            .map_or(text.len(), |offset| at + 1 + offset);
        text.replace_range(at..end, ": ");
    }
    let text = text.replace(" :", ":");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text after "CODE - " (Comtrade starts every text with its code;
/// the total's is "Total - All H6 commodities").
fn text_after_code(code: &str, text: &str) -> String {
    let text = text.trim();
    text.get(..code.len())
        .filter(|start| start.eq_ignore_ascii_case(code))
        .map(|_| text[code.len()..].trim_start())
        .and_then(|rest| rest.strip_prefix('-'))
        .map(|rest| rest.trim().to_owned())
        .filter(|rest| !rest.is_empty())
        .unwrap_or_else(|| text.to_owned())
}

/// The legacy lists' query shortcuts, which are not codes.
fn is_shortcut(code: &str) -> bool {
    code.eq_ignore_ascii_case("ALL")
        || (code.len() == 3
            && code[..2].eq_ignore_ascii_case("AG")
            && code.as_bytes()[2].is_ascii_digit())
}

/// A code's level without Comtrade's `aggrLevel`: 0 for the total, else
/// its length.
fn level_of(code: &str) -> u8 {
    if code.eq_ignore_ascii_case("TOTAL") {
        0
    } else {
        code.len().min(u8::MAX as usize) as u8
    }
}

/// Whether `code` can be a code of a list: letters and digits, with dots
/// between them (EBOPS 2010 writes "10.1.1").
pub fn is_code(code: &str) -> bool {
    !code.is_empty()
        && code
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_alphanumeric()))
}

/// A code as lists write it: trimmed, upper case; an HS heading or
/// subheading written as the nomenclature and tariff schedules write it
/// ("85.01", "8501.10", "8501 10") without its dot. Any other dot is the
/// code's own (EBOPS's "10.1.1"): "1.1" is not chapter 11.
pub fn normalize_code(code: &str) -> String {
    let written = code.trim().to_uppercase();
    let bytes = written.as_bytes();
    let digits_around = |at: usize| {
        bytes[..at]
            .iter()
            .chain(&bytes[at + 1..])
            .all(u8::is_ascii_digit)
    };
    let heading = bytes.len() == 5 && bytes[2] == b'.' && digits_around(2);
    let subheading = bytes.len() == 7 && (bytes[4] == b'.' || bytes[4] == b' ') && digits_around(4);
    if heading || subheading {
        written.chars().filter(char::is_ascii_digit).collect()
    } else {
        written
    }
}

/// One entry of a reference list, as either dialect writes it.
#[derive(Clone, Debug, Deserialize)]
pub struct ReferenceCode {
    #[serde(deserialize_with = "text_or_number")]
    pub id: String,
    pub text: String,
    #[serde(default, deserialize_with = "optional_text_or_number")]
    pub parent: Option<String>,
    #[serde(default, rename = "isLeaf", deserialize_with = "flag")]
    pub is_leaf: Option<bool>,
    #[serde(default, rename = "aggrLevel")]
    pub level: Option<u8>,
    #[serde(default, rename = "standardUnitAbbr")]
    pub unit: Option<String>,
}

fn text_or_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Value {
        Text(String),
        Number(i64),
    }
    Ok(match Value::deserialize(deserializer)? {
        Value::Text(text) => text,
        Value::Number(number) => number.to_string(),
    })
}

fn optional_text_or_number<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Value {
        Text(String),
        Number(i64),
    }
    Ok(match Option::<Value>::deserialize(deserializer)? {
        Some(Value::Text(text)) => Some(text),
        Some(Value::Number(number)) => Some(number.to_string()),
        None => None,
    })
}

/// Comtrade writes `isLeaf` as "0"/"1", and other lists as 0/1 or booleans.
fn flag<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Value {
        Bool(bool),
        Number(i64),
        Text(String),
    }
    Ok(match Option::<Value>::deserialize(deserializer)? {
        Some(Value::Bool(flag)) => Some(flag),
        Some(Value::Number(number)) => Some(number != 0),
        Some(Value::Text(text)) => match text.trim() {
            "1" | "true" | "True" => Some(true),
            "0" | "false" | "False" => Some(false),
            _ => None,
        },
        None => None,
    })
}

/// The `{results: [...]}` envelope both dialects' lists share.
#[derive(Deserialize)]
struct ReferenceFile {
    results: Vec<ReferenceCode>,
}

/// The rows of a reference file read one by one, when the whole file did
/// not decode: the readable rows, and where and why the others failed.
/// `None` when the file is not a `{results: [...]}` at all.
fn tolerant_rows(body: &[u8]) -> Option<(Vec<ReferenceCode>, Vec<String>)> {
    let value: serde_json::Value = serde_json::from_slice(strip_bom(body)).ok()?;
    let rows = value.get("results")?.as_array()?;
    let mut read = Vec::with_capacity(rows.len());
    let mut unreadable = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        match serde_path_to_error::deserialize::<_, ReferenceCode>(row) {
            Ok(code) => read.push(code),
            Err(error) => unreadable.push(format!(
                "results[{index}].{}: {}",
                error.path(),
                error.inner()
            )),
        }
    }
    Some((read, unreadable))
}

/// Decodes a reference list of `classification` (either dialect's). A row
/// that cannot be read (a null `text`, a level as text) is left out with a
/// warning rather than costing the whole list (issue 20's attack: one bad
/// row of 8,263 failed every commodity field).
pub fn decode_reference(classification: &str, body: &[u8]) -> Result<CommodityList, Error> {
    let (codes, unreadable) = match decode::<ReferenceFile>(Source::Comtrade, body) {
        Ok(file) => (file.results, Vec::new()),
        Err(error) => tolerant_rows(body).ok_or(error)?,
    };
    if codes.is_empty() && unreadable.is_empty() {
        return Err(Error::UpstreamBadResponse {
            upstream: Source::Comtrade,
            path: "results".into(),
            detail: format!("the {classification} reference list has no codes"),
        });
    }
    let rows = codes.len() + unreadable.len();
    let mut list = CommodityList::new(classification, codes);
    let dropped = list.dropped() + unreadable.len();
    // A list that lost half its rows or more is not a list the graph can
    // answer from: say so rather than serve a fragment.
    if list.is_empty() || dropped >= list.len() {
        return Err(Error::UpstreamBadResponse {
            upstream: Source::Comtrade,
            path: unreadable
                .first()
                .and_then(|first| first.split(':').next())
                .unwrap_or("results")
                .to_owned(),
            detail: format!(
                "the {classification} reference list is inconsistent: {dropped} of its {rows} rows cannot be read, have a level that is not their code's or a parent not above them (a cycle of parents)"
            ),
        });
    }
    if !unreadable.is_empty() {
        tracing::warn!(
            classification,
            unreadable = unreadable.len(),
            first = %unreadable[0],
            "reference list rows that could not be read were left out"
        );
    }
    let left_out = dropped + list.malformed + list.duplicates;
    // Orphans alone lose no row (each is answered, without a parent):
    // logged, not said to clients, since Comtrade's own EBOPS list has 23
    // (main items under a "TOTAL" it does not list) and an error on every
    // field of a list as Comtrade publishes it would read as a failure.
    if left_out == 0 && list.orphans > 0 {
        tracing::info!(
            classification,
            orphans = list.orphans,
            first = list.first_orphan.as_deref().unwrap_or_default(),
            "comtrade reference list: rows name a parent the list does not have; kept without one"
        );
    }
    if left_out > 0 {
        let mut reasons = Vec::new();
        if !unreadable.is_empty() {
            reasons.push(format!(
                "{} cannot be read (first: {})",
                unreadable.len(),
                unreadable[0]
            ));
        }
        if list.malformed > 0 {
            reasons.push(format!(
                "{} have a code that is not one (letters and digits; digits in HS, SITC and BEC)",
                list.malformed
            ));
        }
        if list.duplicates > 0 {
            reasons.push(format!("{} repeat a code listed before", list.duplicates));
        }
        if list.dropped() > 0 {
            reasons.push(format!(
                "{} have a level that is not their code's or a parent not above them",
                list.dropped()
            ));
        }
        let orphans = format!(
            "{} name a parent the list does not have and are kept without one (first: {})",
            list.orphans,
            list.first_orphan.as_deref().unwrap_or_default()
        );
        let orphans = if list.orphans > 0 {
            format!("; {orphans}")
        } else {
            String::new()
        };
        list.left_out = Some(format!(
            "{left_out} of the {rows} rows of Comtrade's {classification} reference list were left out: {}{orphans}; the codes answered are the rest",
            reasons.join(", "),
        ));
    }
    Ok(list)
}

/// Classifications Comtrade publishes a reference list of, per dialect
/// (seed 004 for the legacy API; the v1 reference files comtradr reads).
pub fn reference_classifications(dialect: ComtradeDialect) -> &'static [&'static str] {
    match dialect {
        ComtradeDialect::Legacy => &[
            "HS", "H0", "H1", "H2", "H3", "H4", "ST", "S1", "S2", "S3", "S4", "BEC", "EB02",
        ],
        ComtradeDialect::V1 => &[
            "HS", "H0", "H1", "H2", "H3", "H4", "H5", "H6", "S1", "S2", "S3", "S4", "B4", "B5",
            "EB", "EB02", "EB10", "EB10S", "EBSDMX",
        ],
    }
}

/// The request for `classification`'s list in `dialect`; an error naming
/// the lists there are when Comtrade publishes none for it.
pub fn reference_request(
    dialect: ComtradeDialect,
    classification: &str,
) -> Result<UpstreamRequest, Error> {
    let classification = classification.trim().to_ascii_uppercase();
    let known = reference_classifications(dialect);
    if !known.contains(&classification.as_str()) {
        return Err(Error::bad_input(format!(
            "classification {classification:?} has no Comtrade reference list in this API; lists: {}",
            known.join(", ")
        )));
    }
    Ok(match dialect {
        ComtradeDialect::V1 => UpstreamRequest::get(
            format!("/files/v1/app/reference/{classification}.json"),
            Vec::new(),
        )
        .without_credential(),
        ComtradeDialect::Legacy => UpstreamRequest::get(
            format!("/Data/cache/classification{classification}.json"),
            Vec::new(),
        )
        .without_credential(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> CommodityList {
        let body = r##"{"more": false, "results": [
            {"id": "ALL", "text": "All HS commodities", "parent": "#"},
            {"id": "AG2", "text": "AG2 - All 2-digit HS commodities", "parent": "#"},
            {"id": "TOTAL", "text": "Total - All H6 commodities", "parent": "#", "isLeaf": "0", "aggrLevel": 0, "standardUnitAbbr": "n/a"},
            {"id": "01", "text": "01 - Animals; live", "parent": "TOTAL", "isLeaf": "0", "aggrLevel": 2},
            {"id": "0101", "text": "0101 - Horses, asses, mules and hinnies; live", "parent": "01", "isLeaf": "0", "aggrLevel": 4},
            {"id": "010110", "text": "010110 - -  Pure-bred breeding animals", "parent": "0101", "isLeaf": "1", "aggrLevel": 6, "standardUnitAbbr": "u"},
            {"id": "010119", "text": "010119 - Horses :-- Other", "parent": "0101", "isLeaf": "1", "aggrLevel": 6, "standardUnitAbbr": "u"},
            {"id": "010121", "text": "010121 - Horses; live, pure-bred breeding animals", "parent": "0101", "isLeaf": "1", "aggrLevel": 6, "standardUnitAbbr": "u"},
            {"id": "87", "text": "87 - Vehicles; other than railway or tramway rolling stock, and parts and accessories thereof", "parent": "TOTAL"},
            {"id": "8704", "text": "8704 - Vehicles; for the transport of goods", "parent": "87"},
            {"id": "870431", "text": "870431 - Véhicules; spark-ignition, g.v.w. not exceeding 5 tonnes", "parent": "8704"}
        ]}"##;
        decode_reference("HS", body.as_bytes()).unwrap()
    }

    #[test]
    fn descriptions_read_on_their_own() {
        let list = list();
        assert!(list.get("ALL").is_none() && list.get("AG2").is_none());
        let other = list.get("010119").unwrap();
        assert_eq!(other.text, "Horses :-- Other");
        assert_eq!(
            other.description,
            "Horses, asses, mules and hinnies; live - Horses: Other"
        );
        assert_eq!(
            list.get("010110").unwrap().description,
            "Horses, asses, mules and hinnies; live - Pure-bred breeding animals"
        );
        let alone = list.get("010121").unwrap();
        assert_eq!(
            alone.description,
            "Horses; live, pure-bred breeding animals"
        );
        assert_eq!(alone.quantity_unit.as_deref(), Some("u"));
        let total = list.get("TOTAL").unwrap();
        assert_eq!(
            (total.description.as_str(), total.quantity_unit.as_ref()),
            ("All H6 commodities", None)
        );
        assert_eq!(list.get("0101").unwrap().level, 4);
        // Legacy entries have no level or leaf flag: from the code.
        let van = list.get("8704.31").unwrap();
        assert_eq!((van.level, van.is_leaf), (6, true));
        assert_eq!(list.parent(van).unwrap().code, "8704");
        assert_eq!(list.children("0101").len(), 3);
        assert_eq!(list.leaves("01").len(), 3);
    }

    /// The attack of issue 20: one row of the list that cannot be read (a
    /// null `text`, a level as text) is left out; the rest of the list
    /// answers. A list mostly unreadable is refused, naming the first row.
    #[test]
    fn an_unreadable_row_costs_only_itself() {
        let body = r##"{"results": [
            {"id": "TOTAL", "text": "Total of all HS commodities", "parent": "#", "aggrLevel": 0},
            {"id": "01", "text": "01 - Animals; live", "parent": "TOTAL", "aggrLevel": 2},
            {"id": "0101", "text": null, "parent": "01", "aggrLevel": 4},
            {"id": "0102", "text": "0102 - Bovine animals; live", "parent": "01", "aggrLevel": "4"},
            {"id": "0103", "text": "0103 - Swine; live", "parent": "01", "aggrLevel": 4}
        ]}"##;
        let list = decode_reference("HS", body.as_bytes()).unwrap();
        assert!(list.get("0101").is_none() && list.get("0102").is_none());
        assert_eq!(list.get("0103").unwrap().level, 4);
        assert_eq!(list.children("01").len(), 1);
        let mostly_bad = r##"{"results": [
            {"id": "TOTAL", "text": null},
            {"id": "01", "text": null},
            {"id": "0103", "text": "0103 - Swine; live", "parent": "01", "aggrLevel": 4}
        ]}"##;
        let error = decode_reference("HS", mostly_bad.as_bytes()).unwrap_err();
        assert!(
            matches!(&error, Error::UpstreamBadResponse { path, .. } if path == "results[0].text"),
            "{error:?}"
        );
    }

    /// The second attack of issue 20: codes that are not codes ("01&x",
    /// "0190,0191", which would go upstream as a parameter or as two
    /// codes), repeated codes and orphans are counted and said; EBOPS's
    /// dotted codes are codes, found as written (dots are dropped only
    /// for HS written as tariff schedules write it).
    #[test]
    fn codes_that_are_not_codes_are_left_out_and_said() {
        let body = r##"{"results": [
            {"id": "TOTAL", "text": "Total", "parent": "#", "aggrLevel": 0},
            {"id": "10", "text": "10 - Other business services", "parent": "TOTAL", "aggrLevel": 2},
            {"id": "10.1", "text": "10.1 - Research and development", "parent": "10", "aggrLevel": 3},
            {"id": "10.1.1", "text": "10.1.1 - Work undertaken", "parent": "10.1", "aggrLevel": 4},
            {"id": "10.1", "text": "10.1 - Again", "parent": "10", "aggrLevel": 3},
            {"id": "01&partnerCode=999", "text": "amp", "parent": "TOTAL", "aggrLevel": 2},
            {"id": "0190,0191", "text": "two", "parent": "TOTAL", "aggrLevel": 2},
            {"id": "11", "text": "11 - Orphan", "parent": "XX", "aggrLevel": 2}
        ]}"##;
        let list = decode_reference("EB", body.as_bytes()).unwrap();
        assert_eq!(list.get("10.1.1").unwrap().code, "10.1.1");
        assert_eq!(list.children("10.1").len(), 1);
        assert!(list.get("01&partnerCode=999").is_none() && list.get("0190,0191").is_none());
        let said = list.left_out().unwrap();
        assert!(said.starts_with("3 of the 8 rows"), "{said}");
        assert!(said.contains("2 have a code that is not one"), "{said}");
        assert!(said.contains("1 repeat a code"), "{said}");
        assert!(
            said.contains("1 name a parent the list does not have"),
            "{said}"
        );
        assert!(list.records().iter().all(|record| is_code(&record.code)));
    }

    /// The third attack of issue 20: a row "H4" in an HS list is no code
    /// (HS codes are digits), and "1.1" is not chapter 11: only a heading
    /// or subheading written as the nomenclature writes it loses its dot.
    #[test]
    fn hs_codes_are_digits_and_only_tariff_dots_are_dropped() {
        let body = r##"{"results": [
            {"id": "TOTAL", "text": "Total", "parent": "#", "aggrLevel": 0},
            {"id": "11", "text": "11 - Milling products", "parent": "TOTAL", "aggrLevel": 2},
            {"id": "H4", "text": "H4 - not a code", "parent": "TOTAL", "aggrLevel": 2},
            {"id": "870431000000", "text": "870431000000 - a tariff line", "parent": "8704", "aggrLevel": 12},
            {"id": "87", "text": "87 - Vehicles", "parent": "TOTAL", "aggrLevel": 2},
            {"id": "8704", "text": "8704 - Goods vehicles", "parent": "87", "aggrLevel": 4},
            {"id": "870431", "text": "870431 - Spark-ignition", "parent": "8704", "aggrLevel": 6}
        ]}"##;
        let list = decode_reference("HS", body.as_bytes()).unwrap();
        assert!(list.get("H4").is_none());
        assert!(list.get("870431000000").is_none());
        assert!(list
            .left_out()
            .unwrap()
            .contains("2 have a code that is not one"));
        for written in ["870431", "8704.31", " 8704 31 "] {
            assert_eq!(list.get(written).unwrap().code, "870431", "{written}");
        }
        assert_eq!(list.get("87.04").unwrap().code, "8704");
        for written in ["1.1", "1 1", "87.04.31", "870.431", "8.704"] {
            assert!(list.get(written).is_none(), "{written}");
        }
    }

    /// The re-attack of issue 20: a search for "1.1" is not chapter 11 in
    /// HS, and finds "1.1 Sea transport" and its items in EBOPS 2002 (whose
    /// codes are numbered in sequence), as "10.1" finds EBOPS 2010's dotted
    /// codes; "85.01" is heading 8501's prefix.
    #[test]
    fn dotted_searches_are_numbers_not_digits_run_together() {
        let body = r##"{"results": [
            {"id": "TOTAL", "text": "Total", "parent": "#", "aggrLevel": 0},
            {"id": "11", "text": "11 - Milling products", "parent": "TOTAL", "aggrLevel": 2},
            {"id": "1101", "text": "1101 - Wheat flour", "parent": "11", "aggrLevel": 4},
            {"id": "85", "text": "85 - Electrical machinery", "parent": "TOTAL", "aggrLevel": 2},
            {"id": "8501", "text": "8501 - Motors", "parent": "85", "aggrLevel": 4}
        ]}"##;
        let hs = decode_reference("HS", body.as_bytes()).unwrap();
        let search = |list: &CommodityList, text: &str| -> Vec<String> {
            let search = CommoditySearch {
                search: Some(text.into()),
                ..CommoditySearch::default()
            };
            list.search(&search, 50, 0)
                .items
                .iter()
                .map(|record| record.code.clone())
                .collect()
        };
        assert!(search(&hs, "1.1").is_empty());
        assert_eq!(search(&hs, "85.01"), ["8501"]);
        assert_eq!(search(&hs, "11"), ["11", "1101"]);
        let body = r##"{"results": [
            {"id": "200", "text": "TOTAL - Total EBOPS 2002 Services", "parent": "#"},
            {"id": "205", "text": "1. Transportation", "parent": "200"},
            {"id": "206", "text": "1.1 Sea transport", "parent": "205"},
            {"id": "207", "text": "1.1.1 Passenger", "parent": "206"},
            {"id": "210", "text": "1.2 Air transport", "parent": "205"},
            {"id": "11.1", "text": "11.1 Other", "parent": "200"}
        ]}"##;
        let ebops = decode_reference("EB02", body.as_bytes()).unwrap();
        assert_eq!(search(&ebops, "1.1"), ["206", "207"]);
        assert_eq!(search(&ebops, "11.1"), ["11.1"]);
    }

    /// The attack of issue 20: rows that are each other's parent. The rows
    /// of the cycle that point at a level not below their own are dropped
    /// and counted; walks over what is left end.
    #[test]
    fn a_cycle_of_parents_is_broken_when_the_list_is_loaded() {
        let body = r##"{"results": [
            {"id": "TOTAL", "text": "Total", "parent": "#", "aggrLevel": 0},
            {"id": "01", "text": "01 - Animals; live", "parent": "TOTAL", "aggrLevel": 2},
            {"id": "0101", "text": "0101 - Horses", "parent": "0102", "aggrLevel": 4},
            {"id": "0102", "text": "0102 - Bovine animals", "parent": "0101", "aggrLevel": 4},
            {"id": "010121", "text": "010121 - Horses; pure-bred", "parent": "0101", "aggrLevel": 6},
            {"id": "0103", "text": "0103 - Swine", "parent": "0103", "aggrLevel": 4},
            {"id": "0104", "text": "0104 - Sheep", "parent": "01", "aggrLevel": 6},
            {"id": "0105", "text": "0105 - Poultry", "parent": "01", "aggrLevel": 4}
        ]}"##;
        let list = decode_reference("HS", body.as_bytes()).unwrap();
        // 0101 (its parent 0102 is of its own level: the cycle is broken
        // there, and 0102 stays without a parent), 0103 (its own parent),
        // 0104 (level 6 for four digits).
        assert_eq!(list.dropped(), 3);
        assert!(list.get("0101").is_none() && list.get("0104").is_none());
        assert_eq!(list.get("0102").unwrap().parent, None);
        assert_eq!(list.get("010121").unwrap().parent, None);
        assert_eq!(list.children("01").len(), 1);
        assert_eq!(list.leaves("TOTAL").len(), 1);
        // A list that is mostly inconsistent is no list.
        let body = r##"{"results": [
            {"id": "0101", "text": "0101 - Horses", "parent": "0102", "aggrLevel": 4},
            {"id": "0102", "text": "0102 - Bovine animals", "parent": "0101", "aggrLevel": 4}
        ]}"##;
        let error = decode_reference("HS", body.as_bytes()).unwrap_err();
        assert_eq!(error.code(), "UPSTREAM_BAD_RESPONSE", "{error}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
        /// Generated lists with random parent links (cycles, self-parents,
        /// parents of any level, parents missing) and random levels load
        /// without panicking, and every walk over them ends: children,
        /// leaves, parents up to the root, descriptions, searches.
        #[test]
        fn walks_over_any_list_end(
            rows in proptest::collection::vec(
                (0usize..40, proptest::option::of(0usize..45), proptest::option::of(0u8..8), proptest::bool::ANY),
                1..40,
            )
        ) {
            let codes = |n: usize| -> String {
                match n % 4 {
                    0 => format!("{:02}", n),
                    1 => format!("{:04}", n),
                    2 => format!("{:06}", n),
                    _ => "TOTAL".to_owned(),
                }
            };
            let entries: Vec<ReferenceCode> = rows
                .iter()
                .map(|(id, parent, level, leaf)| ReferenceCode {
                    id: codes(*id),
                    text: format!("{} - Other", codes(*id)),
                    parent: parent.map(codes),
                    is_leaf: Some(*leaf),
                    level: *level,
                    unit: None,
                })
                .collect();
            // HS's levels are its codes' digits; EBOPS's their depth.
            for classification in ["HS", "EB02"] {
            let list = CommodityList::new(classification, entries.clone());
            for record in list.records() {
                // Up to the root in at most as many steps as there are rows.
                let mut at = record;
                let mut steps = 0;
                while let Some(parent) = list.parent(at) {
                    proptest::prop_assert!(parent.level < at.level, "{} under {}", at.code, parent.code);
                    at = parent;
                    steps += 1;
                    proptest::prop_assert!(steps <= list.len());
                }
                proptest::prop_assert!(list.leaves(&record.code).len() <= list.len());
                let _ = list.children(&record.code);
                proptest::prop_assert!(!record.description.is_empty() || record.text.is_empty());
            }
            let all = list.search(&CommoditySearch { search: Some("other".into()), ..CommoditySearch::default() }, 10, 0);
            proptest::prop_assert!(all.total <= list.len());
            }
        }
    }

    #[test]
    fn search_folds_case_and_accents_and_reads_code_prefixes() {
        let list = list();
        let codes = |search: &str| -> Vec<String> {
            list.search(
                &CommoditySearch {
                    search: Some(search.into()),
                    ..CommoditySearch::default()
                },
                100,
                0,
            )
            .items
            .iter()
            .map(|record| record.code.clone())
            .collect()
        };
        assert_eq!(codes("horses")[0], "0101");
        assert_eq!(codes("HORSE live"), ["0101", "010110", "010119", "010121"]);
        assert_eq!(codes("vehicules"), ["870431"]);
        assert_eq!(codes("VÉHICULES 87"), ["870431"]);
        assert_eq!(codes("8704"), ["8704", "870431"]);
        assert_eq!(codes("8704.31"), ["870431"]);
        assert!(codes("zebra").is_empty());
        let page = list.search(
            &CommoditySearch {
                level: Some(6),
                ..CommoditySearch::default()
            },
            2,
            1,
        );
        assert_eq!(page.total, 4);
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.items[0].code, "010119");
    }
}
