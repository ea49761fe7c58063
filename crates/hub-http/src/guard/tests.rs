//! Tests of the Host and Origin checks.

use super::{Guard, host_name, is_loopback_origin};
use crate::Settings;

#[test]
fn host_name_strips_ports_and_brackets() {
    assert_eq!(host_name("localhost:3000"), "localhost");
    assert_eq!(host_name("localhost"), "localhost");
    assert_eq!(host_name("[::1]:8080"), "::1");
    assert_eq!(host_name("[::1]"), "::1");
    assert_eq!(host_name("::1"), "::1");
}

#[test]
fn default_hosts() {
    let guard = Guard::new(&Settings::default());
    for ok in ["localhost", "LOCALHOST:1", "127.0.0.1:37373", "[::1]:80", "[::1]"] {
        assert!(guard.check_host(Some(ok)).is_ok(), "{ok}");
    }
    for bad in ["evil.example.com", "localhost.evil.com", "127.0.0.2", "[::2]"] {
        let err = guard.check_host(Some(bad)).unwrap_err();
        assert!(err.contains(bad), "{err}");
    }
    assert!(guard.check_host(None).is_err());
}

#[test]
fn empty_host_list_disables_the_check() {
    let guard = Guard::new(&Settings { allowed_hosts: Vec::new(), ..Settings::default() });
    assert!(guard.check_host(Some("anything.example")).is_ok());
    assert!(guard.check_host(None).is_ok());
}

#[test]
fn bracketed_configured_host_matches() {
    let settings = Settings { allowed_hosts: vec!["[::1]".to_owned()], ..Settings::default() };
    assert!(Guard::new(&settings).check_host(Some("[::1]:3000")).is_ok());
}

#[test]
fn loopback_origins() {
    for ok in [
        "http://localhost",
        "http://localhost:5173",
        "https://127.0.0.1:1",
        "http://[::1]",
        "http://[::1]:8080",
        "HTTP://LOCALHOST",
    ] {
        assert!(is_loopback_origin(ok), "{ok}");
    }
    for bad in [
        "http://evil.example.com",
        "http://localhost.evil.com",
        "http://localhost:",
        "http://localhost:abc",
        "http://localhost/",
        "ftp://localhost",
        "null",
        "http://127.0.0.1.nip.io",
    ] {
        assert!(!is_loopback_origin(bad), "{bad}");
    }
}

#[test]
fn origins() {
    let settings = Settings {
        allowed_origins: vec!["https://app.example.com".to_owned()],
        ..Settings::default()
    };
    let guard = Guard::new(&settings);
    assert!(guard.check_origin(None).is_ok());
    assert!(guard.check_origin(Some("https://app.example.com")).is_ok());
    assert!(guard.check_origin(Some("http://localhost:3000")).is_ok());
    let err = guard.check_origin(Some("http://evil.example.com")).unwrap_err();
    assert_eq!(err, "origin header not allowed: http://evil.example.com");
}
