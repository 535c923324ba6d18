//! What the cost model knows of Comtrade's commodities (the graph's
//! `Commodity` objects): which codes of which
//! classification an operation reaches, so that the requests of their
//! `tradeFlows` are estimated as the plan they are.
//!
//! Every field that returns commodities says which it returns, as known
//! items `CLASSIFICATION:code`, or `CLASSIFICATION:*` when the codes cannot
//! be known before the operation runs (an intervention's products). With
//! the classification's reference list in memory, `commodity(code:)`,
//! `commodities(...)` (its page is computed from the list as the resolver
//! will), `children` and `parent` name exact codes; without it, each named
//! code counts and the rest are bounded by the most children any code has.
//! The classification always travels with the codes: the loader plans each
//! classification's flows apart, and so does the estimate.

use std::sync::Arc;

use super::commodities::{normalize_code, CommodityList, CommoditySearch, DEFAULT_CLASSIFICATION};
use crate::limits::Arguments;

/// Children of one commodity at most, when its list is not in memory: the
/// HS total has 98 chapters, chapter 84 has 87 headings, heading 0303 63
/// subheadings (every vintage); SITC and BEC lists have fewer.
pub const COMMODITY_CHILDREN: u64 = 150;

/// What the estimate knows of a classification's reference list.
#[derive(Clone)]
pub enum ListState {
    /// In memory: codes are known exactly.
    Loaded(Arc<CommodityList>),
    /// Loading it for this operation failed: its fields will fail with the
    /// upstream's error, and reach no code.
    Failed,
    /// Not in memory.
    Unknown,
}

/// The reference lists the estimate can read, by classification (the
/// Comtrade client's, and those loaded for the operation, never loading
/// one itself).
pub type LoadedLists = Arc<dyn Fn(&str) -> ListState + Send + Sync>;

/// Separates a known commodity's classification from its code.
const SEPARATOR: char = ':';
/// The code of known commodities whose codes are not known.
const ANY: &str = "*";

/// A commodity as a known item.
fn known(classification: &str, code: &str) -> String {
    format!("{classification}{SEPARATOR}{code}")
}

/// Commodities of `classification` whose codes are not known.
pub fn any_of(classification: &str) -> Vec<String> {
    vec![known(&normalize_classification(classification), ANY)]
}

fn normalize_classification(classification: &str) -> String {
    classification.trim().to_ascii_uppercase()
}

/// The classification a field's arguments name (default HS).
pub fn classification_of(arguments: &Arguments) -> String {
    normalize_classification(
        &arguments
            .text("classification")
            .unwrap_or_else(|| DEFAULT_CLASSIFICATION.to_owned()),
    )
}

/// The known commodities above a field, split: (classification, code, or
/// `None` for codes not known).
fn parents(arguments: &Arguments) -> Option<Vec<(&str, Option<&str>)>> {
    arguments.known_parents().map(|items| {
        items
            .iter()
            .filter_map(|item| item.split_once(SEPARATOR))
            .map(|(classification, code)| (classification, (code != ANY).then_some(code)))
            .collect()
    })
}

/// What the commodities above a field are, for its rule: their
/// classification, and how many there are when every code is known.
pub struct Parents {
    pub classification: String,
    pub exact: Option<u64>,
}

/// The commodities above a field (`None`: no field above said).
pub fn parents_of(arguments: &Arguments) -> Option<Parents> {
    let parents = parents(arguments)?;
    let classification = parents.first().map_or_else(
        || DEFAULT_CLASSIFICATION.to_owned(),
        |(cls, _)| (*cls).to_owned(),
    );
    let exact = parents
        .iter()
        .all(|(_, code)| code.is_some())
        .then_some(parents.len() as u64);
    Some(Parents {
        classification,
        exact,
    })
}

/// `commodity(code:, classification:)`: the code, if the list has it.
pub fn named(lists: &LoadedLists, arguments: &Arguments) -> Vec<String> {
    let classification = classification_of(arguments);
    let Some(code) = arguments.text("code") else {
        return Vec::new();
    };
    match lists(&classification) {
        ListState::Loaded(list) => list
            .get(&code)
            .map(|record| vec![known(&classification, &record.code)])
            .unwrap_or_default(),
        ListState::Failed => Vec::new(),
        ListState::Unknown => vec![known(&classification, &normalize_code(&code))],
    }
}

/// `commodities(...)`: the page the resolver will answer, computed from
/// the list when it is in memory; the codes asked for, else.
pub fn page(lists: &LoadedLists, arguments: &Arguments, limit: u64) -> Vec<String> {
    let classification = classification_of(arguments);
    let offset = arguments.int("offset").unwrap_or(0).max(0) as usize;
    let codes = arguments.strings("codes");
    match lists(&classification) {
        ListState::Loaded(list) => {
            let level = arguments
                .int("level")
                .and_then(|level| u8::try_from(level).ok());
            let search = CommoditySearch {
                search: arguments.text("search"),
                codes,
                level,
            };
            list.search(&search, limit as usize, offset)
                .items
                .into_iter()
                .map(|record| known(&classification, &record.code))
                .collect()
        }
        ListState::Failed => Vec::new(),
        ListState::Unknown => match codes {
            Some(codes) => {
                let mut codes: Vec<String> = codes
                    .iter()
                    .map(|code| known(&classification, &normalize_code(code)))
                    .collect();
                codes.sort_unstable();
                codes.dedup();
                codes.truncate(limit as usize);
                codes
            }
            None => any_of(&classification),
        },
    }
}

/// `Commodity.children`: the known commodities' children, and the most one
/// of them has (the list bound).
pub fn children(lists: &LoadedLists, arguments: &Arguments) -> (Option<Vec<String>>, u64) {
    let Some(parents) = parents(arguments) else {
        return (None, COMMODITY_CHILDREN);
    };
    let mut items = Vec::new();
    let mut most = 0;
    for (classification, code) in parents {
        match (lists(classification), code) {
            (ListState::Loaded(list), Some(code)) => {
                let below = list.children(code);
                most = most.max(below.len() as u64);
                items.extend(
                    below
                        .iter()
                        .map(|record| known(classification, &record.code)),
                );
            }
            (ListState::Loaded(list), None) => {
                most = most.max(list.most_children() as u64);
                items.extend(any_of(classification));
            }
            (ListState::Failed, _) => {}
            (ListState::Unknown, _) => {
                most = COMMODITY_CHILDREN;
                items.extend(any_of(classification));
            }
        }
    }
    items.sort_unstable();
    items.dedup();
    (Some(items), most)
}

/// `Commodity.parent`: the known commodities' parents.
pub fn parent(lists: &LoadedLists, arguments: &Arguments) -> Option<Vec<String>> {
    let parents = parents(arguments)?;
    let mut items = Vec::new();
    for (classification, code) in parents {
        match (lists(classification), code) {
            (ListState::Loaded(list), Some(code)) => {
                if let Some(parent) = list.get(code).and_then(|record| list.parent(record)) {
                    items.push(known(classification, &parent.code));
                }
            }
            (ListState::Failed, _) => {}
            _ => items.extend(any_of(classification)),
        }
    }
    items.sort_unstable();
    items.dedup();
    Some(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arguments(pairs: &[(&str, async_graphql::Value)]) -> Arguments {
        Arguments::new(
            pairs
                .iter()
                .map(|(name, value)| ((*name).to_owned(), value.clone())),
        )
    }

    /// Without the list, a named code counts as itself, in its
    /// classification; a failed list reaches nothing; codes are read as
    /// the resolver reads them.
    #[test]
    fn known_codes_keep_their_classification() {
        let unknown: LoadedLists = Arc::new(|_| ListState::Unknown);
        let failed: LoadedLists = Arc::new(|_| ListState::Failed);
        let asked = arguments(&[
            ("code", async_graphql::Value::from("85.01")),
            ("classification", async_graphql::Value::from("h0")),
        ]);
        assert_eq!(named(&unknown, &asked), ["H0:8501"]);
        assert!(named(&failed, &asked).is_empty());
        let below = Arguments::default().on_parents(Some(named(&unknown, &asked)));
        let (items, most) = children(&unknown, &below);
        assert_eq!(items.unwrap(), ["H0:*"]);
        assert_eq!(most, COMMODITY_CHILDREN);
        let flows = Arguments::default().on_parents(items_of(&unknown, &below));
        let parents = parents_of(&flows).unwrap();
        assert_eq!(
            (parents.classification.as_str(), parents.exact),
            ("H0", None)
        );
    }

    fn items_of(lists: &LoadedLists, arguments: &Arguments) -> Option<Vec<String>> {
        children(lists, arguments).0
    }
}
