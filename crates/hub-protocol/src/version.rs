//! MCP protocol versions the hub speaks and their negotiation.

use std::fmt;

/// A protocol revision of MCP the hub can speak, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ProtocolVersion {
    /// The first public revision (legacy HTTP+SSE transport).
    V2024_11_05,
    /// Streamable HTTP, JSON-RPC batches, tool annotations.
    V2025_03_26,
    /// No batches, `MCP-Protocol-Version` header, elicitation, structured tool output.
    V2025_06_18,
    /// SSE polling and priming events, icons, tasks, URL elicitation.
    V2025_11_25,
}

// === impl ProtocolVersion ===

impl ProtocolVersion {
    /// Every supported revision, oldest first.
    pub const ALL: [Self; 4] =
        [Self::V2024_11_05, Self::V2025_03_26, Self::V2025_06_18, Self::V2025_11_25];

    /// The newest revision the hub speaks; offered to upstreams and to clients that ask for one
    /// the hub does not know.
    pub const LATEST: Self = Self::V2025_11_25;

    /// What a streamable-HTTP server assumes when a request carries no `MCP-Protocol-Version`
    /// header (MCP 2025-06-18, "Protocol Version Header").
    pub const HTTP_DEFAULT: Self = Self::V2025_03_26;

    /// The wire spelling, e.g. `"2025-11-25"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::V2024_11_05 => "2024-11-05",
            Self::V2025_03_26 => "2025-03-26",
            Self::V2025_06_18 => "2025-06-18",
            Self::V2025_11_25 => "2025-11-25",
        }
    }

    /// Parses the wire spelling; `None` for a revision the hub does not speak.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Server-side negotiation (MCP lifecycle): answer with the client's requested revision if the
    /// hub speaks it, otherwise with the hub's latest, which the client may then refuse.
    pub fn negotiate(requested: &str) -> Self {
        Self::parse(requested).unwrap_or(Self::LATEST)
    }

    /// Whether JSON-RPC batches are allowed in this revision (only 2025-03-26 has them).
    pub const fn allows_batches(self) -> bool {
        matches!(self, Self::V2025_03_26)
    }

    /// A comma-separated list of every supported revision, newest first, for error messages.
    pub fn supported_list() -> String {
        let mut all: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
        all.reverse();
        all.join(", ")
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::ProtocolVersion as V;

    #[test]
    fn parse_and_display_round_trip() {
        for v in V::ALL {
            assert_eq!(V::parse(v.as_str()), Some(v));
            assert_eq!(v.to_string(), v.as_str());
        }
        assert_eq!(V::parse("2024-10-07"), None);
        assert_eq!(V::parse(""), None);
    }

    #[test]
    fn negotiation_echoes_known_and_falls_back_to_latest() {
        assert_eq!(V::negotiate("2025-06-18"), V::V2025_06_18);
        assert_eq!(V::negotiate("2024-11-05"), V::V2024_11_05);
        assert_eq!(V::negotiate("2026-07-28"), V::LATEST);
        assert_eq!(V::negotiate("nonsense"), V::LATEST);
    }

    #[test]
    fn only_2025_03_26_allows_batches() {
        let with: Vec<V> = V::ALL.into_iter().filter(|v| v.allows_batches()).collect();
        assert_eq!(with, vec![V::V2025_03_26]);
    }

    #[test]
    fn supported_list_is_newest_first() {
        assert_eq!(V::supported_list(), "2025-11-25, 2025-06-18, 2025-03-26, 2024-11-05");
    }
}
