//! README is what a newcomer follows from clone to deployed service: what it
//! names must exist. Its Deploy section's commands (the project's scripts
//! and files, and tools its prerequisites list), template parameters and
//! stack outputs, samconfig.toml keys and Deploy CLI keywords; every path
//! the whole README names; the test command CI runs; and the port the
//! sample events' `cargo lambda invoke` uses, scripts/local.sh's.

use std::collections::BTreeSet;
use std::path::Path;

use crate::deploy_cli::keywords;
use crate::support::{WORKSPACE, workspace_yaml};

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{WORKSPACE}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The text of `heading`'s section of `document`: to the next heading of
/// its level or above.
fn section<'a>(document: &'a str, heading: &str) -> &'a str {
    let start = document
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("no section {heading:?}"));
    let rest = &document[start + 1..];
    let body = &rest[heading.len()..];
    let ends: &[&str] = if heading.starts_with("### ") {
        &["\n## ", "\n### "]
    } else {
        &["\n## "]
    };
    let end = ends
        .iter()
        .filter_map(|marker| body.find(marker))
        .min()
        .map_or(rest.len(), |end| end + heading.len());
    &rest[..end]
}

/// Every `backticked` span of `text`, outside fenced code blocks.
fn backticked(text: &str) -> Vec<String> {
    let prose: String = text.split("```").step_by(2).collect::<Vec<_>>().join(" ");
    prose
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The shell commands of `text`'s ```sh blocks: continuation lines joined,
/// comments dropped.
fn shell_commands(text: &str) -> Vec<String> {
    let mut commands = Vec::new();
    for block in text.split("```sh\n").skip(1) {
        let block = block.split("```").next().unwrap_or_default();
        let mut joined = String::new();
        for line in block.lines() {
            let line = match line.find(" #") {
                Some(comment) if !line[..comment].contains('\'') => &line[..comment],
                _ => line,
            };
            joined.push_str(line.trim_end_matches('\\'));
            if !line.ends_with('\\') && !in_single_quotes(&joined) {
                commands.push(std::mem::take(&mut joined));
            } else {
                joined.push(' ');
            }
        }
    }
    commands
}

fn in_single_quotes(text: &str) -> bool {
    text.matches('\'').count() % 2 == 1
}

/// The programs a command line runs, each with its arguments: split at
/// `&&`, `|`, `;`, `(` and `$(`, variable assignments left out.
fn programs(command: &str) -> Vec<Vec<String>> {
    let mut unquoted = String::new();
    let mut quote = None;
    for c in command.chars() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), _) if q == c => quote = None,
            // Quoted text is one argument: separators in it do not split.
            (Some(_), '|' | ';' | '(' | ')' | '&' | ' ') => unquoted.push('\u{1}'),
            _ => unquoted.push(c),
        }
    }
    unquoted
        .replace("$(", ";")
        .replace("&&", ";")
        .replace(['|', '(', ')'], ";")
        .split(';')
        .map(|part| {
            part.split_whitespace()
                .filter(|word| !word.contains('=') || word.starts_with('-'))
                .map(|word| word.replace('\u{1}', " "))
                .collect::<Vec<_>>()
        })
        .filter(|words| !words.is_empty())
        .collect()
}

/// Shell builtins the commands use.
const BUILTINS: [&str; 2] = ["export", "cd"];

#[test]
fn every_command_of_the_deploy_section_exists() {
    let readme = read("README.md");
    let deploy = section(&readme, "## Deploy");
    let prerequisites = section(deploy, "### Prerequisites");
    let mut programs_run = BTreeSet::new();
    for command in shell_commands(deploy) {
        let mut directory = String::new();
        for words in programs(&command) {
            let program = words[0].as_str();
            programs_run.insert(program.to_owned());
            if program == "cd" {
                directory = format!("{}/", words[1]);
                continue;
            }
            if program.contains('/') {
                let path = Path::new(WORKSPACE).join(program);
                assert!(path.is_file(), "README runs {program}, which is not there");
            } else if program == "npx" {
                // The pinned Deploy CLI provides the only program run this way.
                assert_eq!(words[1], "a0deploy", "{command}");
                let package = read("deploy/auth0/package.json");
                assert!(package.contains("\"auth0-deploy-cli\""), "{package}");
                assert!(prerequisites.contains("`npm`"));
            } else if !BUILTINS.contains(&program) {
                assert!(
                    prerequisites.contains(&format!("`{program}`"))
                        || prerequisites.contains(&format!("{program} ")),
                    "README's Deploy runs {program}, which its prerequisites do not name"
                );
            }
            // Files given as arguments, from where the command runs.
            for word in &words[1..] {
                let word = word.trim_matches(['"', '\'']);
                let is_file = [".json", ".yaml", ".sh", ".toml"]
                    .iter()
                    .any(|extension| word.ends_with(extension));
                if is_file && !word.contains('$') && !word.contains(':') {
                    let path = Path::new(WORKSPACE).join(&directory).join(word);
                    assert!(
                        path.is_file(),
                        "README's `{command}` names {word}, not there"
                    );
                }
            }
        }
    }
    for expected in [
        "sam",
        "npm",
        "npx",
        "deploy/auth0/store-management-secret.sh",
        "curl",
    ] {
        assert!(programs_run.contains(expected), "{programs_run:?}");
    }
}

#[test]
fn every_parameter_output_and_samconfig_key_of_the_deploy_section_exists() {
    let readme = read("README.md");
    let deploy = section(&readme, "## Deploy");
    let template = workspace_yaml("template.yaml");
    let names = |part: &str| -> BTreeSet<String> {
        template[part]
            .as_mapping()
            .unwrap()
            .keys()
            .map(|key| key.as_str().unwrap().to_owned())
            .collect()
    };
    let (parameters, outputs) = (names("Parameters"), names("Outputs"));

    // Every UpperCamelCase name in backticks is a parameter or an output.
    let mut named = BTreeSet::new();
    for word in backticked(deploy) {
        let camel = word.len() > 2
            && word.starts_with(|c: char| c.is_ascii_uppercase())
            && word.chars().all(|c| c.is_ascii_alphanumeric())
            && word.chars().any(|c| c.is_ascii_lowercase());
        if camel {
            assert!(
                parameters.contains(&word) || outputs.contains(&word),
                "README's Deploy names `{word}`: neither a parameter nor an output of template.yaml"
            );
            named.insert(word);
        }
    }
    // And in its commands: `--parameter-overrides Name=...`, `OutputKey=='Name'`.
    for command in shell_commands(deploy) {
        for (at, marker) in command.match_indices("OutputKey=='") {
            let output = &command[at + marker.len()..];
            let output = output.split('\'').next().unwrap_or_default();
            assert!(
                outputs.contains(output),
                "README's Deploy reads output {output}"
            );
        }
    }
    let overrides = deploy
        .split("--parameter-overrides")
        .nth(1)
        .expect("README's Deploy shows the deploy without questions");
    for assignment in overrides
        .split('`')
        .next()
        .unwrap_or_default()
        .split_whitespace()
    {
        let name = assignment.split('=').next().unwrap_or_default();
        assert!(
            parameters.contains(name),
            "--parameter-overrides names {name}"
        );
    }
    // The guided deploy's table names every parameter that has no default.
    for parameter in &parameters {
        if template["Parameters"][parameter.as_str()]["Default"].is_null() {
            assert!(
                deploy.contains(&format!("| Parameter `{parameter}` |")),
                "README's guided deploy does not say what to answer for {parameter}"
            );
        }
    }
    assert!(
        named.contains("ApiUrl") && named.contains("Auth0SecretArn"),
        "{named:?}"
    );

    // The samconfig.toml keys it names hold the answers nobody should type.
    let samconfig = read("samconfig.toml");
    let keys: BTreeSet<&str> = samconfig
        .lines()
        .filter(|line| !line.starts_with('#') && !line.starts_with('['))
        .filter_map(|line| line.split_once(" = ").map(|(key, _)| key.trim()))
        .collect();
    let listed = deploy
        .split("`samconfig.toml` holds the answers")
        .nth(1)
        .and_then(|rest| rest.split("):").next())
        .expect("README says which answers samconfig.toml holds");
    let listed = backticked(listed);
    assert!(listed.len() >= 4, "{listed:?}");
    for key in &listed {
        assert!(
            keys.contains(key.as_str()),
            "samconfig.toml has no key {key}"
        );
    }
}

#[test]
fn the_keyword_mapping_of_the_deploy_section_is_deploy_auth0s() {
    let readme = read("README.md");
    let deploy = section(&readme, "## Deploy");
    let mapping = deploy
        .split("AUTH0_KEYWORD_REPLACE_MAPPINGS='")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("README shows the keyword mapping");
    let mapping: serde_json::Value = serde_json::from_str(mapping).expect("the mapping is JSON");
    let shown: BTreeSet<String> = mapping.as_object().unwrap().keys().cloned().collect();
    assert_eq!(shown, keywords(&read("deploy/auth0/tenant.yaml")));

    // Every ALL_CAPS name in its prose is a keyword, a setting of the Deploy
    // CLI's config.json, of the secret script, or of the service.
    let known = [
        "deploy/auth0/tenant.yaml",
        "deploy/auth0/config.json",
        "deploy/auth0/store-management-secret.sh",
        "docs/configuration.md",
    ]
    .map(read)
    .join("\n")
        + &shell_commands(deploy).join("\n");
    for word in backticked(deploy) {
        let caps = word.len() > 3
            && word
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
            && word.contains('_');
        if caps {
            assert!(
                known.contains(&word),
                "README's Deploy names `{word}`: nothing reads it"
            );
        }
    }
}

/// GitHub's anchor for a heading.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Paths a clean clone lacks until a script makes them.
const MADE_BY_SCRIPTS: [&str; 3] = ["./.venv", "./.venv-awscli", "deploy/auth0/node_modules"];

#[test]
fn every_path_readme_names_exists() {
    let readme = read("README.md");
    let root = Path::new(WORKSPACE);
    // Links: the file, and the heading an anchor names.
    for (at, _) in readme.match_indices("](") {
        let target = &readme[at + 2..];
        let target = target.split(')').next().unwrap_or_default();
        if target.starts_with("http") {
            continue;
        }
        let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
        assert!(
            root.join(file).is_file(),
            "README links to {file}, not there"
        );
        if !anchor.is_empty() {
            let text = read(file);
            let anchors: Vec<String> = text
                .lines()
                .filter_map(|line| line.strip_prefix('#'))
                .map(|heading| slug(heading.trim_start_matches('#')))
                .collect();
            assert!(
                anchors.contains(&anchor.to_owned()),
                "{file} has no #{anchor}"
            );
        }
    }
    // Backticked paths: a folder or file of the repository.
    let extensions = [
        ".md", ".yaml", ".yml", ".json", ".toml", ".txt", ".sh", ".rs", ".py",
    ];
    for word in backticked(&readme) {
        let path_like = (word.contains('/') || extensions.iter().any(|e| word.ends_with(e)))
            && !word.contains([' ', ':', '<', '{', '*', '$', '?', '='])
            && !word.starts_with('/');
        if !path_like || MADE_BY_SCRIPTS.contains(&word.as_str()) {
            continue;
        }
        let found = ["", "deploy/auth0/", "docs/"]
            .iter()
            .any(|base| root.join(format!("{base}{word}")).exists());
        assert!(found, "README names `{word}`, which is not there");
    }
}

#[test]
fn readme_names_the_test_command_ci_runs_and_stays_short() {
    let readme = read("README.md");
    assert!(read(".ci/run").contains("\nscripts/test.sh\n"));
    assert!(section(&readme, "## Quickstart").contains("\nscripts/test.sh\n"));
    let lines = readme.lines().count();
    assert!(
        lines < 300,
        "README has {lines} lines: move detail into docs/"
    );
}

#[test]
fn the_sample_events_are_invoked_on_the_local_stacks_port() {
    let local = read("scripts/local.sh");
    let port = local
        .split("API_PORT=\"${API_PORT:-")
        .nth(1)
        .and_then(|rest| rest.split('}').next())
        .expect("scripts/local.sh's default API_PORT");
    let events = read("events/README.md");
    let invocations: Vec<&str> = events
        .lines()
        .filter(|line| line.starts_with("cargo lambda invoke"))
        .collect();
    assert!(!invocations.is_empty());
    for line in invocations {
        assert!(
            line.contains(&format!("--invoke-port {port}"))
                && line.contains("--invoke-address 127.0.0.1"),
            "events/README.md: `{line}` is not sent where scripts/local.sh listens (127.0.0.1:{port})"
        );
    }
}

#[test]
fn callers_scopes_can_be_turned_off_by_a_parameter() {
    let template = workspace_yaml("template.yaml");
    let parameter = &template["Parameters"]["RequireCallerScopes"];
    assert_eq!(parameter["Default"], "true");
    let allowed: Vec<&str> = parameter["AllowedValues"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(allowed, ["true", "false"]);
    // Every function gets it from the Globals (the reconciler ignores it).
    let text = read("template.yaml");
    let globals = section(&text, "Globals:")
        .split("\nResources:")
        .next()
        .unwrap_or_default();
    assert!(globals.contains("REQUIRE_CALLER_SCOPES: !Ref RequireCallerScopes"));
}
