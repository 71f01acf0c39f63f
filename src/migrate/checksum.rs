//! Prisma's migration checksum: lowercase hex SHA-256 of the file's bytes. A stored checksum also matches the
//! file with its line endings converted either way, and in the legacy unpadded hex form of old Prisma versions.

use sha2::{Digest, Sha256};

pub fn checksum(sql: &str) -> String {
    hex::encode(Sha256::digest(sql.as_bytes()))
}

fn legacy_unpadded(sql: &str) -> String {
    Sha256::digest(sql.as_bytes())
        .iter()
        .map(|b| format!("{b:x}"))
        .collect()
}

pub fn checksum_matches(stored: &str, sql: &str) -> bool {
    let variants = [
        sql.to_string(),
        sql.replace("\r\n", "\n"),
        sql.replace("\r\n", "\n").replace('\n', "\r\n"),
    ];
    if stored.len() == 64 {
        variants
            .iter()
            .any(|v| checksum(v).eq_ignore_ascii_case(stored))
    } else {
        variants.iter().any(|v| legacy_unpadded(v) == stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prisma_test_vector() {
        assert_eq!(
            checksum("hello"),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
    }

    #[test]
    fn line_endings_and_legacy_form_match() {
        let lf = "CREATE TABLE a (x int);\nSELECT 1;\n";
        let crlf = lf.replace('\n', "\r\n");
        assert!(checksum_matches(&checksum(lf), &crlf));
        assert!(checksum_matches(&checksum(&crlf), lf));
        assert!(checksum_matches(&legacy_unpadded(lf), lf));
        assert!(!checksum_matches(&checksum("other"), lf));
    }
}
