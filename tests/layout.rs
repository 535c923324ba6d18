//! The crate's shape, checked: no dependency cycle between its top-level
//! modules (issue 23). A cycle is how a module stops being something a
//! newcomer can read alone: `config` and `sources` each needed the other,
//! `error` and `metrics` reached into `sources` for `Source`, `limits` into
//! the ITA loader for its arithmetic. Each module's own tests may use what
//! they like; the code they test may not.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level modules: `src/<name>.rs` and `src/<name>/`.
fn top_level_modules(src: &Path) -> BTreeSet<String> {
    std::fs::read_dir(src)
        .unwrap()
        .filter_map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_stem()?.to_str()?.to_owned();
            let module = path.is_dir() || path.extension().is_some_and(|ext| ext == "rs");
            (module && name != "lib" && name != "main").then_some(name)
        })
        .collect()
}

/// Every `.rs` file of `module`.
fn files_of(src: &Path, module: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let file = src.join(format!("{module}.rs"));
    if file.exists() {
        files.push(file);
    }
    let mut folders = vec![src.join(module)];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// The modules `text` names as `crate::<module>`, its test module left out.
fn named_in(text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let code = text
        .find("#[cfg(test)]\nmod tests")
        .map_or(text, |tests| &text[..tests]);
    code.match_indices("crate::")
        .filter_map(|(at, prefix)| {
            let rest = &code[at + prefix.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let name = &rest[..end];
            modules.contains(name).then(|| name.to_owned())
        })
        .collect()
}

/// A cycle in `graph`, as the modules along it, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        module: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|on_path| on_path == module) {
            let mut cycle = path[start..].to_vec();
            cycle.push(module.to_owned());
            return Some(cycle);
        }
        if done.contains(module) {
            return None;
        }
        path.push(module.to_owned());
        for next in graph.get(module).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(module.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|module| visit(module, graph, &mut Vec::new(), &mut done))
}

#[test]
fn top_level_modules_depend_on_each_other_without_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = top_level_modules(&src);
    assert!(modules.contains("sources") && modules.contains("config"));
    let graph: BTreeMap<String, BTreeSet<String>> = modules
        .iter()
        .map(|module| {
            let mut uses = BTreeSet::new();
            for file in files_of(&src, module) {
                uses.extend(named_in(&std::fs::read_to_string(file).unwrap(), &modules));
            }
            uses.remove(module);
            (module.clone(), uses)
        })
        .collect();
    // The leaves the others name instead of reaching into a layer above.
    assert!(graph["source"].is_empty(), "{:?}", graph["source"]);
    assert!(
        graph["error_codes"].is_empty(),
        "{:?}",
        graph["error_codes"]
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "a dependency cycle between top-level modules: {}\n{graph:#?}",
            cycle.join(" -> ")
        );
    }
}

/// The check finds a cycle when there is one.
#[test]
fn a_cycle_is_found() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(module, uses)| {
        (
            module.to_owned(),
            uses.into_iter().map(str::to_owned).collect(),
        )
    })
    .collect();
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    let modules: BTreeSet<String> = ["config", "sources"].map(str::to_owned).into();
    assert_eq!(
        named_in(
            "use crate::sources::x;\n#[cfg(test)]\nmod tests { use crate::config; }",
            &modules
        ),
        ["sources".to_owned()].into()
    );
}
