//! The command line's own documentation: `--help` grouped under headings with defaults
//! and examples, `--version` naming the commit, and the man page and completions that
//! `--generate` makes from the same definition.

mod common;

fn stdout_of(args: &[&str]) -> String {
    let out = common::oftsniff().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn help_is_grouped_with_defaults_and_examples() {
    let help = stdout_of(&["--help"]);
    let at = |s: &str| help.find(s).unwrap_or_else(|| panic!("--help lacks {s:?}"));
    // Headings in order, each holding a flag of its kind.
    assert!(at("Capture:") < at("Limits:"));
    assert!(at("Output:") < at("Debugging:") && at("Debugging:") < at("Examples:"));
    assert!(at("Capture:") < at("--filter") && at("--filter") < at("Limits:"));
    at("[default: 262144]");
    at("FLAP connection");
    at("sudo oftsniff -i eth0");
}

#[test]
fn version_names_the_commit_when_built_from_git() {
    let v = stdout_of(&["--version"]);
    assert!(
        v.starts_with(concat!("oftsniff ", env!("CARGO_PKG_VERSION"))),
        "{v}"
    );
    let in_git = std::process::Command::new("git")
        .args([
            "-C",
            env!("CARGO_MANIFEST_DIR"),
            "rev-parse",
            "--short",
            "HEAD",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8(o.stdout).unwrap().trim().to_string());
    match in_git {
        // The binary may be a commit behind HEAD when built before the last commit; the
        // form is what is pinned here.
        Some(_) => assert!(v.contains("(git "), "{v}"),
        None => common::loud_skip("not a git checkout: --version has no commit to show"),
    }
}

#[test]
fn man_page_and_completions_generate() {
    let man = stdout_of(&["--generate", "man"]);
    assert!(man.contains(".TH oftsniff 1"), "{man}");
    assert!(man.contains("filter"));
    for (shell, marker) in [
        ("bash", "complete -F _oftsniff"),
        ("zsh", "#compdef oftsniff"),
        ("fish", "complete -c oftsniff"),
    ] {
        let text = stdout_of(&["--generate", shell]);
        assert!(text.contains(marker), "{shell}: {text}");
        assert!(text.contains("max-flows"), "{shell} completes the flags");
    }
    // Hidden from --help: it is for packagers, documented in README.
    assert!(!stdout_of(&["--help"]).contains("--generate"));
}
