//! docs/layout.md is the repository's: its tree names what is there, and
//! the library's modules depend one way: every `crate::`
//! path in a module's code names a module of a lower layer. A path that
//! goes up or sideways, the start of a cycle, fails here.

use std::collections::BTreeMap;
use std::path::Path;

/// docs/layout.md's table of layers.
const LAYERS: [(&str, u8); 20] = [
    ("error", 0),
    ("secret_string", 0),
    ("routes", 0),
    ("http", 0),
    ("logging", 0),
    ("metrics", 0),
    ("config", 1),
    ("domain", 1),
    ("aws", 1),
    ("auth", 2),
    ("validation", 2),
    ("auth0", 2),
    ("owner_index", 2),
    ("cursor", 2),
    // The unit tests' stand-in for Auth0.
    ("testing", 2),
    ("clients", 3),
    ("secrets_manager", 3),
    ("app", 4),
    ("reconcile", 4),
    ("api", 5),
];

/// Every `.rs` file under `dir`, with the top-level module it belongs to.
fn sources(dir: &Path, module: Option<&str>, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let top = module.map(str::to_owned).unwrap_or_else(|| name.clone());
        if path.is_dir() {
            sources(&path, Some(&top), out);
        } else if path.extension().is_some_and(|e| e == "rs") && top != "lib" {
            out.push((top, std::fs::read_to_string(&path).unwrap()));
        }
    }
}

#[test]
fn modules_use_only_lower_layers() {
    let layer: BTreeMap<&str, u8> = LAYERS.into_iter().collect();
    let mut files = Vec::new();
    sources(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")),
        None,
        &mut files,
    );
    let mut violations = Vec::new();
    for (module, text) in &files {
        let own = *layer.get(module.as_str()).unwrap_or_else(|| {
            panic!("module {module} is not in docs/layout.md's layers (and LAYERS)")
        });
        // Unit tests may use anything.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (at, _) in code.match_indices("crate::") {
            let used: String = code[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if used == *module {
                continue;
            }
            match layer.get(used.as_str()) {
                Some(&theirs) if theirs < own => {}
                _ => violations.push(format!("{module} uses crate::{used}")),
            }
        }
    }
    assert!(violations.is_empty(), "{violations:#?}");
    assert_eq!(
        files
            .iter()
            .map(|(m, _)| m.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        LAYERS.len(),
        "a layer lists a module that no longer exists"
    );
}

/// docs/layout.md: its tree, and its table of layers (README's "Layout"
/// links to it).
fn layout_doc() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let start = readme
        .find("## Layout")
        .expect("README has a Layout section");
    assert!(
        readme[start..].contains("docs/layout.md"),
        "README's Layout section links to docs/layout.md"
    );
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/layout.md"))
        .expect("docs/layout.md")
}

#[test]
fn the_documented_table_of_layers_is_the_one_checked_here() {
    let mut documented = BTreeMap::new();
    for row in layout_doc().lines().filter(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let Ok(layer) = cells[1].parse::<u8>() else {
            continue;
        };
        for module in cells[2].split('`').skip(1).step_by(2) {
            documented.insert(module.to_owned(), layer);
        }
    }
    let checked: BTreeMap<String, u8> = LAYERS
        .into_iter()
        .map(|(module, layer)| (module.to_owned(), layer))
        .collect();
    assert_eq!(documented, checked);
}

/// Every path docs/layout.md's tree names exists, and every module of the
/// library and every function crate is in it: a newcomer finds where each
/// line belongs from it.
#[test]
fn the_documented_tree_matches_the_repository() {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let layout = layout_doc();
    let tree = layout
        .split("```")
        .nth(1)
        .expect("docs/layout.md opens with its tree");
    let mut named = Vec::new();
    let mut top = String::new();
    for line in tree.lines().filter(|l| !l.trim().is_empty()) {
        let indented = line.starts_with("  ");
        // Continuation lines of a description are indented past the names.
        if line.starts_with("    ") {
            continue;
        }
        let first = line.split_whitespace().next().unwrap_or_default();
        let names: Vec<&str> = if first.ends_with('/') && indented {
            // A line of sibling folders: `a/ b/ c/`.
            line.split_whitespace()
                .take_while(|name| name.ends_with('/'))
                .collect()
        } else {
            vec![first]
        };
        for name in names {
            let path = if indented {
                format!("{top}{name}")
            } else {
                name.to_owned()
            };
            if !indented && name.ends_with('/') {
                top = name.to_owned();
            }
            if !path.contains('*') {
                named.push(path);
            }
        }
    }
    let missing: Vec<&String> = named
        .iter()
        .filter(|path| !root.join(path.as_str()).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "docs/layout.md names what is not there: {missing:?}"
    );

    let mut unnamed = Vec::new();
    for (folder, prefix) in [("functions", "functions/"), ("shared/src", "shared/src/")] {
        for entry in std::fs::read_dir(root.join(folder)).expect("folder") {
            let entry = entry.expect("entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == "lib.rs" {
                continue;
            }
            let shown = if entry.path().is_dir() {
                format!("{prefix}{name}/")
            } else {
                format!("{prefix}{name}")
            };
            if !named.contains(&shown) {
                unnamed.push(shown);
            }
        }
    }
    assert!(unnamed.is_empty(), "not in docs/layout.md: {unnamed:?}");
}
