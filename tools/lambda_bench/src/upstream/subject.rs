//! What the benchmarks start: the functions of the route table, and the
//! bare echo they are compared with.

use m2m_shared::Route;

/// The functions of the route table, and the bare echo they are compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Subject {
    /// `tools/bare_echo`: a bare `lambda_runtime` function.
    Echo,
    /// The function that answers this route.
    Function(Route),
}

impl Subject {
    /// The functions, in the route table's order.
    pub const FUNCTIONS: [Subject; Route::ALL.len()] = {
        let mut functions = [Subject::Echo; Route::ALL.len()];
        let mut i = 0;
        while i < Route::ALL.len() {
            functions[i] = Subject::Function(Route::ALL[i]);
            i += 1;
        }
        functions
    };
    /// The echo, then the functions.
    pub const ALL: [Subject; Route::ALL.len() + 1] = {
        let mut all = [Subject::Echo; Route::ALL.len() + 1];
        let mut i = 0;
        while i < Route::ALL.len() {
            all[i + 1] = Subject::FUNCTIONS[i];
            i += 1;
        }
        all
    };

    /// The binary's name (`cargo build --release` puts it in `target/release`).
    pub fn binary(self) -> &'static str {
        match self {
            Subject::Echo => "bare-echo",
            Subject::Function(route) => route.function(),
        }
    }

    /// The package that builds the binary.
    pub fn package(self) -> &'static str {
        match self {
            Subject::Echo => "bare_echo",
            Subject::Function(route) => route.function(),
        }
    }

    /// The subject whose binary is `binary`.
    pub fn from_binary(binary: &str) -> Option<Subject> {
        Subject::ALL.into_iter().find(|s| s.binary() == binary)
    }

    pub fn label(self) -> &'static str {
        match self {
            Subject::Echo => "bare lambda_runtime echo",
            other => other.binary(),
        }
    }

    /// The status of a successful answer.
    pub fn success_status(self) -> Option<u16> {
        match self {
            Subject::Echo => None,
            Subject::Function(route) => Some(route.success_status()),
        }
    }

    /// The route whose requests the subject is sent: its own; the echo,
    /// which answers anything, gets the list's.
    pub(super) fn route(self) -> Route {
        match self {
            Subject::Echo => Route::ListClients,
            Subject::Function(route) => route,
        }
    }
}

/// The command that builds every subject's release binary.
pub fn build_command() -> String {
    let packages: Vec<String> = Subject::FUNCTIONS
        .iter()
        .chain([&Subject::Echo])
        .map(|s| format!("-p {}", s.package()))
        .collect();
    format!("cargo build --release {}", packages.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subjects_are_the_echo_and_the_route_table() {
        assert_eq!(Subject::ALL[0], Subject::Echo);
        assert_eq!(Subject::ALL[1..], Subject::FUNCTIONS);
        for (subject, route) in Subject::FUNCTIONS.into_iter().zip(Route::ALL) {
            assert_eq!(subject, Subject::Function(route));
            assert_eq!(Subject::from_binary(route.function()), Some(subject));
            assert_eq!(subject.success_status(), Some(route.success_status()));
        }
        assert_eq!(Subject::from_binary("bare-echo"), Some(Subject::Echo));
        assert!(build_command().ends_with(" -p bare_echo"));
    }
}
