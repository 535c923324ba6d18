//! The sample's HS list: real codes and texts, a part of Comtrade's
//! (`hs_list.tsv`, written by `scripts/sample-hs-list.py`): the total, the
//! 98 chapters, 228 headings and 657 subheadings. The simulator serves it as
//! Comtrade's reference file, its flows add up along it (subheadings to
//! headings to chapters to the total), and the sample interventions name its
//! subheadings as their products.

use std::collections::HashMap;
use std::sync::LazyLock;

/// One code of the list.
#[derive(Debug)]
pub struct HsEntry {
    pub code: &'static str,
    /// Comtrade's quantity unit ("kg", "u"; "n/a" above subheadings).
    pub unit: &'static str,
    /// The text as Comtrade writes it after "code - ".
    pub text: &'static str,
}

impl HsEntry {
    /// 0 for the total, else the digits of the code.
    pub fn level(&self) -> u8 {
        if self.code == "TOTAL" {
            0
        } else {
            self.code.len() as u8
        }
    }

    /// The code above ("TOTAL" for a chapter; `None` for the total).
    pub fn parent(&self) -> Option<&'static str> {
        match self.code.len() {
            2 => Some("TOTAL"),
            4 | 6 => Some(&self.code[..self.code.len() - 2]),
            _ => None,
        }
    }
}

/// The list, indexed.
pub struct HsList {
    pub entries: Vec<HsEntry>,
    index: HashMap<&'static str, usize>,
    /// Per entry, the positions of the subheadings at or below it.
    leaves: Vec<Vec<usize>>,
    /// Per chapter (by its number), its subheadings' codes.
    by_chapter: HashMap<u32, Vec<u32>>,
}

impl HsList {
    pub fn get(&self, code: &str) -> Option<&HsEntry> {
        self.index
            .get(code)
            .map(|&position| &self.entries[position])
    }

    /// The position of `code` in the list.
    pub fn position(&self, code: &str) -> Option<usize> {
        self.index.get(code).copied()
    }

    /// The subheadings at or below the entry at `position`.
    pub fn leaves_of(&self, position: usize) -> &[usize] {
        &self.leaves[position]
    }

    /// Every code of `level` (2, 4 or 6), in list order.
    pub fn codes_at(&self, level: u8) -> impl Iterator<Item = &HsEntry> {
        self.entries
            .iter()
            .filter(move |entry| entry.level() == level)
    }

    /// The subheadings of chapter `chapter` (e.g. 87), as GTA writes
    /// product codes (integers: 870431).
    pub fn subheadings_of_chapter(&self, chapter: u32) -> &[u32] {
        self.by_chapter.get(&chapter).map_or(&[], Vec::as_slice)
    }
}

/// The sample HS list.
pub fn hs() -> &'static HsList {
    static LIST: LazyLock<HsList> = LazyLock::new(|| {
        let entries: Vec<HsEntry> = include_str!("hs_list.tsv")
            .lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
            .filter_map(|line| {
                let mut fields = line.splitn(3, '\t');
                Some(HsEntry {
                    code: fields.next()?,
                    unit: fields.next()?,
                    text: fields.next()?,
                })
            })
            .collect();
        let index: HashMap<&'static str, usize> = entries
            .iter()
            .enumerate()
            .map(|(position, entry)| (entry.code, position))
            .collect();
        let mut leaves = vec![Vec::new(); entries.len()];
        let mut by_chapter: HashMap<u32, Vec<u32>> = HashMap::new();
        for (position, entry) in entries.iter().enumerate() {
            if entry.level() != 6 {
                continue;
            }
            let mut code = Some(entry.code);
            while let Some(at) = code {
                if let Some(&above) = index.get(at) {
                    leaves[above].push(position);
                }
                code = index.get(at).and_then(|&above| entries[above].parent());
            }
            if let (Ok(chapter), Ok(number)) = (entry.code[..2].parse(), entry.code.parse()) {
                by_chapter.entry(chapter).or_default().push(number);
            }
        }
        HsList {
            entries,
            index,
            leaves,
            by_chapter,
        }
    });
    &LIST
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_a_tree_of_real_codes() {
        let list = hs();
        assert_eq!(list.codes_at(2).count(), 98);
        assert!(list.get("0101").unwrap().text.starts_with("Horses"));
        assert_eq!(list.get("870431").unwrap().parent(), Some("8704"));
        // Every heading has subheadings and every chapter headings (77,
        // reserved, none): the flows add up along the tree.
        for entry in &list.entries {
            let position = list.position(entry.code).unwrap();
            if entry.code != "77" && entry.level() < 6 {
                assert!(!list.leaves_of(position).is_empty(), "{}", entry.code);
            }
            if let Some(parent) = entry.parent() {
                assert!(list.get(parent).is_some(), "{}", entry.code);
            }
        }
        assert_eq!(list.leaves_of(0).len(), list.codes_at(6).count());
        assert!(list.subheadings_of_chapter(87).contains(&870431));
    }
}
