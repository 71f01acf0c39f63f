//! The identifiers French law asks a seller to publish: the SIREN (9 digits, a Luhn check digit) and the
//! intra-community VAT number built from it (FR, a 2-digit key, the SIREN).

/// A SIREN as written, spaces allowed ("123 456 782"): the problem, in words, when it is not one.
pub fn siren_rule(value: &str) -> Option<&'static str> {
    let digits: Option<Vec<u32>> = value
        .chars()
        .filter(|c| *c != ' ')
        .map(|c| c.to_digit(10))
        .collect();
    match digits {
        Some(digits) if digits.len() == 9 => (!luhn_valid(&digits))
            .then_some("is not a SIREN: its check digit (Luhn) does not match; check for a typo"),
        _ => Some("must be 9 digits (spaces allowed)"),
    }
}

fn luhn_valid(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                *d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A French VAT number ("FR11123456782", spaces allowed): the problem, in words, when it is not one.
pub fn french_vat_rule(value: &str) -> Option<&'static str> {
    let compact: String = value.chars().filter(|c| *c != ' ').collect();
    let Some(rest) = compact.strip_prefix("FR") else {
        return Some("must start with FR, then a 2-digit key and the 9-digit SIREN");
    };
    if rest.len() != 11 || !rest.chars().all(|c| c.is_ascii_digit()) {
        return Some("must be FR, a 2-digit key and the 9-digit SIREN (13 characters)");
    }
    let (key, siren) = rest.split_at(2);
    if let Some(problem) = siren_rule(siren) {
        return Some(match problem {
            "must be 9 digits (spaces allowed)" => "must end with the 9-digit SIREN",
            _ => "does not end with a valid SIREN (its check digit does not match)",
        });
    }
    let (Ok(key), Ok(number)) = (key.parse::<u64>(), siren.parse::<u64>()) else {
        return Some("must be FR, a 2-digit key and the 9-digit SIREN (13 characters)");
    };
    if key != (12 + 3 * (number % 97)) % 97 {
        return Some("its key does not match the SIREN: check for a typo");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_siren_has_nine_digits_and_a_luhn_check_digit() {
        assert_eq!(siren_rule("123456782"), None);
        assert_eq!(siren_rule("123 456 782"), None);
        assert!(siren_rule("123456781").unwrap().contains("check digit"));
        assert!(siren_rule("12345678").unwrap().contains("9 digits"));
        assert!(siren_rule("12345678A").unwrap().contains("9 digits"));
        assert!(siren_rule("").unwrap().contains("9 digits"));
    }

    #[test]
    fn a_vat_number_carries_the_key_of_its_siren() {
        assert_eq!(french_vat_rule("FR11123456782"), None);
        assert_eq!(french_vat_rule("FR 11 123 456 782"), None);
        assert!(french_vat_rule("FR12123456782").unwrap().contains("key"));
        assert!(french_vat_rule("DE11123456782").unwrap().contains("FR"));
        assert!(french_vat_rule("FR11123456781").unwrap().contains("SIREN"));
        assert!(
            french_vat_rule("FR111234567")
                .unwrap()
                .contains("13 characters")
        );
    }
}
