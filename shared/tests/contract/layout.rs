//! docs/layout.md is the repository's: its tree names what is there, and
//! the library's modules depend one way: every `crate::` path in a module's
//! code names a module of a lower layer, and no two files of the library
//! import each other (a cycle through sibling files, or through a parent's
//! `mod.rs`, fails here). Every source file can be read at once: at most
//! [`MAX_LINES`] lines before its unit tests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// docs/layout.md's table of layers.
const LAYERS: [(&str, u8); 21] = [
    ("error", 0),
    ("public_key", 0),
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

/// The most lines a source file may have before its unit tests.
const MAX_LINES: usize = 500;

fn root() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).to_path_buf()
}

/// Every `.rs` file under `dir`, with its path below `dir`.
fn rust_files(dir: &Path, below: &Path, out: &mut Vec<(PathBuf, String)>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = below.join(path.file_name().unwrap());
        if path.is_dir() {
            rust_files(&path, &name, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push((name, std::fs::read_to_string(&path).unwrap()));
        }
    }
}

/// What comes before a file's unit tests: the `#[cfg(test)]` that opens an
/// inline module (`mod tests {`). A `#[cfg(test)] mod x;` declaration is
/// code like any other.
fn before_tests(text: &str) -> &str {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut at = 0;
    for (i, line) in lines.iter().enumerate() {
        if line.trim() == "#[cfg(test)]" {
            let item = lines[i + 1..]
                .iter()
                .map(|l| l.trim())
                .find(|l| !l.is_empty() && !l.starts_with("#["))
                .unwrap_or_default();
            if item.starts_with("mod ") && item.ends_with('{') {
                return &text[..at];
            }
        }
        at += line.len();
    }
    text
}

/// `code` with its comments and the insides of its string and character
/// literals blanked out (lines kept): what is left is what the compiler
/// reads as paths.
fn without_comments_and_strings(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    let mut out = String::with_capacity(code.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let previous = i.checked_sub(1).map(|p| chars[p]);
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            loop {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && !previous.is_some_and(ident)
            && matches!(next, Some('"' | '#'))
            && chars[i + 1..].iter().find(|c| **c != '#') == Some(&'"')
        {
            // A raw string: r"…", r#"…"#.
            let hashes = chars[i + 1..].iter().take_while(|c| **c == '#').count();
            let close: String = std::iter::once('"')
                .chain("#".repeat(hashes).chars())
                .collect();
            out.push('r');
            i += 1 + hashes + 1;
            out.push_str(&" ".repeat(hashes + 1));
            while !chars[i..].iter().collect::<String>().starts_with(&close) {
                out.push(blank(chars[i]));
                i += 1;
            }
            out.push_str(&" ".repeat(close.len()));
            i += close.len();
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while chars[i] != '"' {
                let step = if chars[i] == '\\' { 2 } else { 1 };
                for c in &chars[i..i + step] {
                    out.push(blank(*c));
                }
                i += step;
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            // A character literal, not a lifetime.
            let end = (i + 2..chars.len()).find(|&j| chars[j] == '\'').unwrap();
            out.push_str(&" ".repeat(end + 1 - i));
            i = end + 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// A file of the library: its path below `shared/src`, its module path
/// (`[]` for lib.rs, `["auth0"]` for auth0/mod.rs, `["auth0", "token"]`
/// for auth0/token.rs) and its code without its unit tests, comments and
/// strings.
struct LibraryFile {
    path: String,
    module: Vec<String>,
    code: String,
}

fn library() -> Vec<LibraryFile> {
    let mut files = Vec::new();
    rust_files(&root().join("shared/src"), Path::new(""), &mut files);
    files
        .into_iter()
        .map(|(path, text)| {
            let path = path.to_string_lossy().replace('\\', "/");
            let mut module: Vec<String> = path
                .trim_end_matches(".rs")
                .split('/')
                .map(str::to_owned)
                .collect();
            if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                module.pop();
            }
            LibraryFile {
                code: without_comments_and_strings(before_tests(&text)),
                path,
                module,
            }
        })
        .collect()
}

#[test]
fn modules_use_only_lower_layers() {
    let layer: BTreeMap<&str, u8> = LAYERS.into_iter().collect();
    let files = library();
    let mut violations = Vec::new();
    for file in files.iter().filter(|file| !file.module.is_empty()) {
        let module = file.module[0].as_str();
        let own = *layer.get(module).unwrap_or_else(|| {
            panic!("module {module} is not in docs/layout.md's layers (and LAYERS)")
        });
        for (at, _) in file.code.match_indices("crate::") {
            let used: String = file.code[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if used == module {
                continue;
            }
            match layer.get(used.as_str()) {
                Some(&theirs) if theirs < own => {}
                _ => violations.push(format!("{} uses crate::{used}", file.path)),
            }
        }
    }
    assert!(violations.is_empty(), "{violations:#?}");
    let tops: BTreeSet<&str> = files
        .iter()
        .filter_map(|file| file.module.first())
        .map(String::as_str)
        .collect();
    assert_eq!(
        tops.len(),
        LAYERS.len(),
        "a layer lists a module that no longer exists"
    );
}

/// The paths of a `use` tree (`a::{b, c::{d, e}}`: `a::b`, `a::c::d`,
/// `a::c::e`), each as its segments.
fn use_paths(tree: &str) -> Vec<Vec<String>> {
    let mut tokens = Vec::new();
    let mut rest = tree.trim();
    while !rest.is_empty() {
        let length = if rest.starts_with("::") {
            2
        } else if rest.starts_with(|c: char| c.is_alphanumeric() || c == '_') {
            rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len())
        } else {
            rest.chars().next().unwrap().len_utf8()
        };
        tokens.push(&rest[..length]);
        rest = rest[length..].trim_start();
    }
    fn tree_at(tokens: &[&str], at: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
        let mut path = prefix.to_vec();
        while let Some(token) = tokens.get(*at) {
            *at += 1;
            match *token {
                "::" => {}
                "{" => {
                    loop {
                        tree_at(tokens, at, &path, out);
                        match tokens.get(*at) {
                            Some(&",") => *at += 1,
                            _ => break,
                        }
                        if tokens.get(*at) == Some(&"}") {
                            break;
                        }
                    }
                    *at += 1;
                    return;
                }
                "as" => *at += 1,
                "," | "}" => {
                    *at -= 1;
                    break;
                }
                segment => path.push(segment.to_owned()),
            }
        }
        out.push(path);
    }
    let mut out = Vec::new();
    tree_at(&tokens, &mut 0, &[], &mut out);
    out
}

/// Every path of the crate's own that `code` names: in its `use`
/// declarations, and as `crate::`, `super::`, `self::` or `<child>::` in
/// its code.
fn named_paths(code: &str, children: &BTreeSet<String>) -> Vec<Vec<String>> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut paths = Vec::new();
    let mut rest = code.to_owned();
    // `use` declarations first, then blanked, so that their paths are not
    // read twice.
    let mut from = 0;
    while let Some(found) = rest[from..].find("use ") {
        let at = from + found;
        let starts_word = rest[..at].chars().next_back().is_none_or(|c| !ident(c));
        if !starts_word {
            from = at + 4;
            continue;
        }
        let end = at + rest[at..].find(';').unwrap();
        paths.extend(use_paths(&rest[at + 4..end]));
        rest.replace_range(at..end, &" ".repeat(end - at));
        from = end;
    }
    let chars: Vec<char> = rest.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts = ident(chars[i]) && (i == 0 || !(ident(chars[i - 1]) || chars[i - 1] == ':'));
        if !starts {
            i += 1;
            continue;
        }
        let mut path = Vec::new();
        loop {
            let length = chars[i..].iter().take_while(|c| ident(**c)).count();
            path.push(chars[i..i + length].iter().collect::<String>());
            i += length;
            if chars.get(i) == Some(&':') && chars.get(i + 1) == Some(&':') {
                i += 2;
                if chars.get(i).is_some_and(|c| ident(*c)) {
                    continue;
                }
            }
            break;
        }
        if path.len() > 1 {
            paths.push(path);
        }
    }
    paths
        .into_iter()
        .filter(|path| {
            matches!(path[0].as_str(), "crate" | "super" | "self") || children.contains(&path[0])
        })
        .collect()
}

/// The file that `path`, named in module `from`, leads to: the deepest
/// module it names.
fn resolve(path: &[String], from: &[String], files: &BTreeMap<Vec<String>, String>) -> String {
    let mut module: Vec<String> = match path[0].as_str() {
        "crate" => Vec::new(),
        "self" => from.to_vec(),
        "super" => from.to_vec(),
        child => [from, &[child.to_owned()]].concat(),
    };
    let mut segments = path[1..].iter().peekable();
    if path[0] == "super" {
        module.pop();
        while segments.peek().is_some_and(|s| *s == "super") {
            segments.next();
            module.pop();
        }
    }
    for segment in segments {
        let deeper = [module.as_slice(), std::slice::from_ref(segment)].concat();
        if !files.contains_key(&deeper) {
            break;
        }
        module = deeper;
    }
    files[&module].clone()
}

/// No two files of the library import each other, directly or through
/// others: a parent `mod.rs` that uses its children (`pub use child::X`,
/// `child::f()`) is above them, and they name their siblings
/// (`super::sibling::X`), never the parent's own items or re-exports. (A
/// parent declaring `mod child;` imports nothing.)
#[test]
fn no_two_files_of_the_library_import_each_other() {
    let library = library();
    let files: BTreeMap<Vec<String>, String> = library
        .iter()
        .map(|file| (file.module.clone(), file.path.clone()))
        .collect();
    let mut imports: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for file in &library {
        let children: BTreeSet<String> = files
            .keys()
            .filter(|module| {
                module.len() == file.module.len() + 1 && module.starts_with(&file.module)
            })
            .filter_map(|module| module.last().cloned())
            .collect();
        let used = imports.entry(file.path.as_str()).or_default();
        for path in named_paths(&file.code, &children) {
            let target = resolve(&path, &file.module, &files);
            if target != file.path {
                used.insert(target);
            }
        }
    }
    // Which files each file reaches, through any number of imports.
    let reaches = |start: &str| {
        let mut seen = BTreeSet::new();
        let mut next = vec![start.to_owned()];
        while let Some(file) = next.pop() {
            for target in imports.get(file.as_str()).into_iter().flatten() {
                if seen.insert(target.clone()) {
                    next.push(target.clone());
                }
            }
        }
        seen
    };
    let mut cycles = BTreeSet::new();
    for file in imports.keys() {
        let reached = reaches(file);
        let cycle: BTreeSet<String> = reached
            .iter()
            .filter(|other| reaches(other).contains(*file))
            .cloned()
            .collect();
        if !cycle.is_empty() {
            // The file itself is in its own cycle.
            cycles.insert(cycle);
        }
    }
    let described: Vec<String> = cycles
        .iter()
        .map(|cycle| {
            let edges: Vec<String> = cycle
                .iter()
                .flat_map(|file| {
                    imports[file.as_str()]
                        .iter()
                        .filter(|target| cycle.contains(*target))
                        .map(move |target| format!("{file} -> {target}"))
                })
                .collect();
            edges.join(", ")
        })
        .collect();
    assert!(
        described.is_empty(),
        "files that import each other: {described:#?}"
    );
}

/// Every source file of the library and the tools can be read at once.
#[test]
fn no_source_file_is_over_500_lines_before_its_tests() {
    let root = root();
    let mut files = Vec::new();
    rust_files(
        &root.join("shared/src"),
        Path::new("shared/src"),
        &mut files,
    );
    for tool in std::fs::read_dir(root.join("tools")).unwrap() {
        let tool = tool.unwrap().path();
        let src = tool.join("src");
        if src.is_dir() {
            let below = Path::new("tools")
                .join(tool.file_name().unwrap())
                .join("src");
            rust_files(&src, &below, &mut files);
        }
    }
    let too_long: BTreeMap<String, usize> = files
        .iter()
        .map(|(path, text)| {
            let path = path.to_string_lossy().replace('\\', "/");
            (path, before_tests(text).lines().count())
        })
        .filter(|(_, lines)| *lines > MAX_LINES)
        .collect();
    assert!(
        too_long.is_empty(),
        "over {MAX_LINES} lines before the unit tests: {too_long:?}"
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
