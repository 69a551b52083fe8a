//! The library's modules depend one way (README, "Layout"): every `crate::`
//! path in a module's code names a module of a lower layer. A path that
//! goes up or sideways, the start of a cycle, fails here.

use std::collections::BTreeMap;
use std::path::Path;

/// README's table of layers.
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
        let own = *layer
            .get(module.as_str())
            .unwrap_or_else(|| panic!("module {module} is not in README's layers (and LAYERS)"));
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
